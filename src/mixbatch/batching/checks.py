"""Turn impossible batch requests into errors that name the param and what is possible.

Checked (section `shards` plus the run's `sampling`/`alpha`), for each batch type in use
(mixbatch.batching.sampler.BATCH_TYPES with a probability above 0):
- every language in `shards.languages` occurs in the data;
- every data set has ids in `MIN_LANGUAGES[type]` of the languages: one for X-X, random
  and mixed batches (random pairs may have q == p, so they need no two-language ids),
  two for X-Y batches (sampling xy, or hybrid with alpha < 1), which also need two
  languages in `shards.languages`;
- `shards.batch_size` must fit in at least one pool of each batch type in use (X-X: the
  ids of one language; the others: the ids that exist in enough of the languages);
  smaller pools are allowed and give smaller batches, which the manifest reports. The
  held-out (validation) split is small by design: there every pool may shrink
  (`allow_shrink`).
"""

from __future__ import annotations

import numpy as np

from mixbatch.batching.aligned import AlignedSet
from mixbatch.batching.sampler import MIN_LANGUAGES, PER_LANGUAGE_POOLS
from mixbatch.errors import MixbatchError

LABELS = {"xx": "X-X", "xy": "X-Y", "random": "random", "mixed": "mixed"}
ARTICLES = {"xx": "an", "xy": "an", "random": "a", "mixed": "a"}
COUNT_WORDS = {1: "one", 2: "two"}


def _where(sets: list[AlignedSet]) -> str:
    return ", ".join(s.path for s in sets)


def check_languages(sets: list[AlignedSet], languages: list[str], required: bool = True) -> list[str]:
    """The requested languages that no data set has: an error if `required` (the
    training split), else returned (a small held-out split may lack one)."""
    have = {lang for s in sets for lang in s.ids_per_language()}
    missing = [lang for lang in languages if lang not in have]
    if missing and required:
        in_data = sorted(have | {lang for s in sets for lang in s.skipped_languages})
        raise MixbatchError(
            f"shards.languages: {', '.join(missing)} not in the data ({_where(sets)}); "
            f"the data has: {', '.join(in_data) or 'no rows'}"
        )
    return missing


def check_batches(sets: list[AlignedSet], languages: list[str], batch_size: int,
                  batch_type_probs: dict[str, float], allow_shrink: bool = False) -> None:
    """Raise MixbatchError if the batch types in use cannot be drawn at `batch_size`."""
    for batch_type in (t for t, p in batch_type_probs.items() if p > 0):
        _check_pools(sets, languages, batch_type)
        if allow_shrink:
            continue
        if batch_type in PER_LANGUAGE_POOLS:
            _check_language_pools_fit(sets, batch_size)
        else:
            _check_shared_pools_fit(sets, batch_size, batch_type)


def _ids_in(aligned: AlignedSet, num_langs: int) -> int:
    """How many ids exist in at least `num_langs` of the set's languages."""
    return int(((aligned.rows >= 0).sum(axis=1) >= num_langs).sum())


def _check_pools(sets: list[AlignedSet], languages: list[str], batch_type: str) -> None:
    label, need = LABELS[batch_type], MIN_LANGUAGES[batch_type]
    if len(languages) < need:  # the schema asks for one language, so only X-Y gets here
        raise MixbatchError(
            f"{label} batches need at least {COUNT_WORDS[need]} languages, but shards.languages has one "
            f"({', '.join(languages)}); add languages or use sampling xx"
        )
    for s in sets:
        if _ids_in(s, need):
            continue
        if need > 1:
            raise MixbatchError(
                f"{label} batches need ids in {COUNT_WORDS[need]} or more languages, but {s.path} has none in "
                f"shards.languages ({', '.join(s.ids_per_language()) or 'no rows'} present); "
                "add languages or use sampling xx"
            )
        raise MixbatchError(
            f"{label} batches need ids in at least one of shards.languages ({', '.join(languages)}), but "
            f"{s.path} has no rows in them; its other languages: {', '.join(s.skipped_languages) or 'none'}"
        )


def _check_language_pools_fit(sets: list[AlignedSet], batch_size: int) -> None:
    largest, where = max(
        ((n, f"{lang} in {s.dataset}") for s in sets for lang, n in s.ids_per_language().items()),
        default=(0, "none"),
    )
    if batch_size > largest:
        counts = "; ".join(
            f"{s.dataset}: " + ", ".join(f"{k} {v}" for k, v in s.ids_per_language().items()) for s in sets
        )
        raise MixbatchError(
            f"shards.batch_size = {batch_size} is larger than any language can fill in {_where(sets)}: "
            f"an X-X batch holds at most {largest} ids ({where}); ids per language: {counts}"
        )


def _check_shared_pools_fit(sets: list[AlignedSet], batch_size: int, batch_type: str) -> None:
    need = MIN_LANGUAGES[batch_type]
    largest = max(_ids_in(s, need) for s in sets)
    if batch_size > largest:
        raise MixbatchError(
            f"shards.batch_size = {batch_size} is larger than {ARTICLES[batch_type]} {LABELS[batch_type]} batch "
            f"can fill in {_where(sets)}: at most {largest} ids exist in {COUNT_WORDS[need]} or more of "
            "shards.languages"
        )


def num_batches_for(sets: list[AlignedSet], batch_size: int, num_batches: int | None) -> int:
    """`num_batches`, or (null) one pass: as many batches as the rows fill."""
    if num_batches is not None:
        return num_batches
    return max(1, int(np.ceil(sum(s.num_rows for s in sets) / batch_size)))
