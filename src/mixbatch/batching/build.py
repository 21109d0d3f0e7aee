"""Build the shards of one split (train or valid) of one run: read, check, sample, write.

Inputs: one split table per training data set (`{dataset: path}`), a `ShardSpec` made
from params sections `shards` and `runs.<run>` plus `seed`. Output: the shard folder
(mixbatch.batching.writer). Text is staged in `store_dir` (removed by the caller).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mixbatch.batching.aligned import read_split
from mixbatch.batching.checks import check_batches, check_languages, num_batches_for
from mixbatch.batching.sampler import BatchSampler
from mixbatch.batching.writer import write_shards
from mixbatch.errors import MixbatchError

log = logging.getLogger(__name__)

SAMPLINGS = ("xx", "xy", "hybrid", "random", "mixed")
# Independent random streams per split, so the validation draw does not shift the training one.
SPLIT_STREAMS = {"train": 0, "valid": 1}


@dataclass(frozen=True)
class ShardSpec:
    """What to draw. `batch_type_probs`: the probability of each batch type (see
    `batch_type_probs`)."""

    sampling: str
    batch_type_probs: dict[str, float]
    batch_size: int
    num_batches: int | None
    languages: tuple[str, ...]
    passage: str
    batches_per_shard: int
    seed: int


def batch_type_probs(sampling: str, alpha: float = 0.5) -> dict[str, float]:
    """The batch types (mixbatch.batching.sampler.BATCH_TYPES) of a run's sampling, with the
    probability that a batch is of each; the manifest counts batches per key.

    xx, xy and hybrid are the paper's family: a batch is X-X with probability p_xx, else
    X-Y, where p_xx is 1 for xx, 0 for xy and `alpha` for hybrid. random and mixed give
    only their own type (`alpha` is not read).
    """
    p_xx = {"xx": 1.0, "xy": 0.0, "hybrid": float(alpha)}
    if sampling in p_xx:
        return {"xx": p_xx[sampling], "xy": 1.0 - p_xx[sampling]}
    if sampling in ("random", "mixed"):
        return {sampling: 1.0}
    raise MixbatchError(f"sampling {sampling!r} draws no batches; samplings with batches: {', '.join(SAMPLINGS)}")


def build_shards(spec: ShardSpec, split_paths: dict[str, Path], split: str, out: Path,
                 store_dir: Path, manifest_head: dict[str, Any]) -> dict[str, Any]:
    """Read each data set's `split` table, check the request, write the shards; return the manifest."""
    languages = list(spec.languages)
    sets = [
        read_split(name, path, languages, spec.passage, Path(store_dir) / split)
        for name, path in split_paths.items()
    ]
    missing = check_languages(sets, languages, required=split == "train")
    if missing:
        log.warning("%s split has no rows in %s: its batches leave them out", split, ", ".join(missing))
    check_batches(sets, languages, spec.batch_size, spec.batch_type_probs, allow_shrink=split == "valid")
    num_batches = num_batches_for(sets, spec.batch_size, spec.num_batches)
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, SPLIT_STREAMS[split]]))
    sampler = BatchSampler(sets, spec.batch_size, spec.batch_type_probs, rng)
    log.info("%s: %d batches of %d from %s (%s)", split, num_batches, spec.batch_size,
             ", ".join(f"{s.dataset}: {s.num_rows} rows" for s in sets), spec.sampling)
    head = {**manifest_head, "split": split, "missing_languages": missing,
            "spec": {**asdict(spec), "languages": languages, "num_batches": num_batches}}
    return write_shards(sets, sampler, num_batches, spec.batches_per_shard, spec.batch_size, out, head)
