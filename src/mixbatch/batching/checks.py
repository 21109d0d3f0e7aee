"""Turn impossible batch requests into errors that name the param and what is possible.

Checked (section `shards` plus the run's `sampling`/`alpha`):
- every language in `shards.languages` occurs in the data;
- X-Y batches (sampling xy, or hybrid with alpha < 1) need two languages, and ids that
  exist in at least two of them in every data set;
- `shards.batch_size` must fit in at least one pool of each batch type in use; smaller
  pools are allowed and give smaller batches, which the manifest reports. The held-out
  (validation) split is small by design: there every pool may shrink (`allow_shrink`).
"""

from __future__ import annotations

import numpy as np

from mixbatch.batching.aligned import AlignedSet
from mixbatch.errors import MixbatchError


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


def check_batches(sets: list[AlignedSet], languages: list[str], batch_size: int, p_xx: float,
                  allow_shrink: bool = False) -> None:
    """Raise MixbatchError if the batch types in use cannot be drawn at `batch_size`."""
    if p_xx > 0 and not allow_shrink:
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
    if p_xx < 1:
        if len(languages) < 2:
            raise MixbatchError(
                f"X-Y batches need at least two languages, but shards.languages has one ({languages[0]}); "
                "add languages or use sampling xx"
            )
        multi = [int(((s.rows >= 0).sum(axis=1) >= 2).sum()) for s in sets]
        for s, n in zip(sets, multi):
            if n == 0:
                raise MixbatchError(
                    f"X-Y batches need ids in two or more languages, but {s.path} has none in "
                    f"shards.languages ({', '.join(s.ids_per_language()) or 'no rows'} present); "
                    "add languages or use sampling xx"
                )
        if batch_size > max(multi) and not allow_shrink:
            raise MixbatchError(
                f"shards.batch_size = {batch_size} is larger than an X-Y batch can fill in {_where(sets)}: "
                f"at most {max(multi)} ids exist in two or more of shards.languages"
            )


def num_batches_for(sets: list[AlignedSet], batch_size: int, num_batches: int | None) -> int:
    """`num_batches`, or (null) one pass: as many batches as the rows fill."""
    if num_batches is not None:
        return num_batches
    return max(1, int(np.ceil(sum(s.num_rows for s in sets) / batch_size)))
