"""The MIRACL passage corpus, from the Hugging Face hub when it can be reached.

The corpus is not in the data mirror (../shared/data/README.md); it exists only on the
hub as the `miracl/miracl-corpus` data set (fields docid, title, text; one config per
language). Reaching the hub is probed first with a short timeout, and HF_HUB_OFFLINE /
HF_DATASETS_OFFLINE are honoured, so an offline machine answers at once instead of
hanging in the datasets library's retries. Params: `encode.miracl_corpus`,
`encode.miracl_hub_timeout_s`, `encode.miracl_max_passages` (0 = all; a cap is for
smoke runs only, since it changes the scores).
"""

from __future__ import annotations

import logging

from mixbatch.data.hub import hub_reachable
from mixbatch.retrieval.tables import Side

log = logging.getLogger(__name__)

UNAVAILABLE = "skipped: corpus unavailable"


def load_candidates(langs: list[str], encode: dict, hub_timeout_s: float) -> tuple[Side | None, str]:
    """The corpus of each language as one candidates Side (ids "<lang>:<docid>"), or
    (None, "skipped: corpus unavailable (<why>)")."""
    ok, why = hub_reachable(encode["miracl_corpus"], hub_timeout_s)
    if not ok:
        log.warning("MIRACL corpus: %s (%s)", UNAVAILABLE, why)
        return None, f"{UNAVAILABLE} ({why})"
    from datasets import load_dataset

    ids, lang_col, texts = [], [], []
    for lang in langs:
        try:
            corpus = load_dataset(encode["miracl_corpus"], lang, split="train")
        except Exception as e:  # any hub or format failure: record it, do not crash the run
            log.warning("MIRACL corpus %s: %s", lang, e)
            return None, f"{UNAVAILABLE} ({lang}: {type(e).__name__})"
        if encode["miracl_max_passages"]:
            corpus = corpus.select(range(min(len(corpus), encode["miracl_max_passages"])))
        for row in corpus:
            ids.append(f"{lang}:{row['docid']}")
            lang_col.append(lang)
            texts.append(f"{row['title']} {row['text']}".strip())
    return Side(ids, lang_col, texts, is_query=False), "hub"
