"""Argument and params plumbing shared by the stage modules."""

from __future__ import annotations

import argparse
import random
import sys
from typing import Any

import numpy as np

from mixbatch.config import load_params


def add_params_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")


def add_threads_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads (0: the params section's `threads`, else all cores); Snakemake passes {threads}")


def load_section(args: argparse.Namespace, *sections: str) -> dict[str, Any]:
    """Load and validate the whole params file; return the named sections (plus `seed`),
    or every section when none is named (for tools over the whole pipeline)."""
    params = load_params(args.params)
    out = {name: params[name] for name in sections or params}
    out["seed"] = params["seed"]
    return out


def set_seeds(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    # Only seed torch where the stage already uses it: importing it costs seconds.
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
