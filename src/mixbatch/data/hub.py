"""Whether the Hugging Face hub can be reached, asked once, quickly.

HF_HUB_OFFLINE / HF_DATASETS_OFFLINE are honoured and the probe has a short timeout, so
an offline machine is told at once that a hub-only data set (the MIRACL corpus, mMARCO)
cannot be had, instead of hanging in the hub libraries' retries. HF_ENDPOINT is honoured.
"""

from __future__ import annotations

import os

OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")


def hub_reachable(repo_id: str, timeout_s: float) -> tuple[bool, str]:
    """(reachable, why not) for the hub's data set `repo_id`, within timeout_s."""
    for var in OFFLINE_VARIABLES:
        if os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}:
            return False, f"{var} is set"
    import requests

    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    try:
        requests.head(f"{endpoint}/api/datasets/{repo_id}", timeout=timeout_s)
    except requests.RequestException as e:
        return False, type(e).__name__
    return True, ""
