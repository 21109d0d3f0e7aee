"""Write sampled batches as numbered Parquet shards plus manifest.json.

Output folder: shard-00000.parquet, shard-00001.parquet, ... with one row per pair
(columns `SHARD_SCHEMA`), `batches_per_shard` whole batches per shard (a batch is never
split), and manifest.json: params, inputs, batches per batch type of the run's sampling
(`batch_types`: xx and xy for samplings xx, xy and hybrid; random or mixed for those),
the language-pair histogram, shrunk batches and each shard's sha256. Shards are written
one at a time, so memory does not grow with the number of batches. Parquet options are fixed and no
timestamps are written, so the same params and input give byte-identical files.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from mixbatch.batching.aligned import AlignedSet
from mixbatch.batching.sampler import BATCH_TYPES, BatchSampler, Plan
from mixbatch.io import atomic_path, sha256_file, write_json

log = logging.getLogger(__name__)

SHARD_SCHEMA = pa.schema([
    ("batch", pa.int64()),
    ("batch_type", pa.string()),
    ("dataset", pa.string()),
    ("xling_id", pa.string()),
    ("q_lang", pa.string()),
    ("p_lang", pa.string()),
    ("query", pa.string()),
    ("positive", pa.string()),
])
# Fixed writer options: byte-identical rebuilds. Dictionary pages only for the few-valued columns.
PARQUET_OPTIONS = dict(
    compression="zstd", compression_level=3, version="2.6", write_statistics=True,
    use_dictionary=["batch_type", "dataset", "q_lang", "p_lang"], data_page_version="1.0",
)


def _texts(stores: list, plan_dataset: np.ndarray, rows: np.ndarray) -> pa.Array:
    """Gather text rows across data sets, keeping the plan's row order."""
    if len(stores) == 1:
        return stores[0].take(rows)
    parts, order = [], []
    for d, store in enumerate(stores):
        mine = np.flatnonzero(plan_dataset == d)
        parts.append(store.take(rows[mine]))
        order.append(mine)
    inverse = np.empty(len(rows), dtype=np.int64)
    inverse[np.concatenate(order)] = np.arange(len(rows))
    return pa.concat_arrays(parts).take(pa.array(inverse))


def shard_table(plan: Plan, sets: list[AlignedSet], first_batch: int) -> pa.Table:
    """The Arrow table of one shard (columns SHARD_SCHEMA)."""
    langs = pa.array(sets[0].languages, type=pa.string())
    names = pa.array([s.dataset for s in sets], type=pa.string())
    types = pa.array(BATCH_TYPES, type=pa.string())
    id_parts = [s.xling_ids for s in sets]
    if len(sets) == 1:
        xling_id = id_parts[0].take(pa.array(plan.xling_id))
    else:  # one id table for all sets: a set's codes shift by the sizes of the sets before it
        offsets = np.cumsum([0] + [len(p) for p in id_parts[:-1]])
        xling_id = pa.concat_arrays(id_parts).take(pa.array(plan.xling_id + offsets[plan.dataset]))
    return pa.Table.from_arrays([
        pa.array(plan.batch + first_batch, type=pa.int64()),
        types.take(pa.array(plan.batch_type[plan.batch])),
        names.take(pa.array(plan.dataset)),
        xling_id,
        langs.take(pa.array(plan.q_lang)),
        langs.take(pa.array(plan.p_lang)),
        _texts([s.queries for s in sets], plan.dataset, plan.q_row),
        _texts([s.passages for s in sets], plan.dataset, plan.p_row),
    ], schema=SHARD_SCHEMA)


class _Counts:
    """Running totals for the manifest (small: per type, per data set, per language pair)."""

    def __init__(self, sets: list[AlignedSet], batch_types: list[str]):
        self.langs = sets[0].languages
        self.names = [s.dataset for s in sets]
        self.batch_types = batch_types  # the types the manifest counts, in this order
        self.types = np.zeros(len(BATCH_TYPES), dtype=np.int64)  # batches per BATCH_TYPES code
        self.per_dataset = np.zeros(len(sets), dtype=np.int64)
        self.pairs = np.zeros((len(self.langs), len(self.langs)), dtype=np.int64)
        self.rows = 0

    def add(self, plan: Plan) -> None:
        self.types += np.bincount(plan.batch_type, minlength=len(BATCH_TYPES))
        first_rows = np.flatnonzero(np.diff(plan.batch, prepend=-1))  # one row per batch
        self.per_dataset += np.bincount(plan.dataset[first_rows], minlength=len(self.names))
        n = len(self.langs)
        self.pairs += np.bincount(plan.q_lang * n + plan.p_lang, minlength=n * n).reshape(n, n)
        self.rows += len(plan.batch)

    def as_dict(self) -> dict[str, Any]:
        pairs = {q: {p: int(self.pairs[i, j]) for j, p in enumerate(self.langs) if self.pairs[i, j]}
                 for i, q in enumerate(self.langs) if self.pairs[i].any()}
        return {
            "batches": int(self.types.sum()), "rows": self.rows,
            "batch_types": {t: int(self.types[BATCH_TYPES.index(t)]) for t in self.batch_types},
            "batches_per_dataset": dict(zip(self.names, map(int, self.per_dataset))),
            "language_pairs": pairs,
        }


def write_shards(
    sets: list[AlignedSet], sampler: BatchSampler, num_batches: int, batches_per_shard: int,
    batch_size: int, out: str | Path, manifest_head: dict[str, Any],
) -> dict[str, Any]:
    """Draw `num_batches` batches shard by shard into `out`; write and return the manifest."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counts, shards = _Counts(sets, list(sampler.batch_type_probs)), []
    starts = tqdm(range(0, num_batches, batches_per_shard), desc=f"shards {manifest_head.get('split', '')}",
                  unit="shard", leave=False)
    for index, first in enumerate(starts):
        plan = sampler.draw(min(batches_per_shard, num_batches - first))
        table = shard_table(plan, sets, first)
        path = out / f"shard-{index:05d}.parquet"
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp, row_group_size=max(1, table.num_rows), **PARQUET_OPTIONS)
        counts.add(plan)
        shards.append({"file": path.name, "first_batch": first, "batches": int(plan.batch_type.size),
                       "rows": table.num_rows, "sha256": sha256_file(path)})
    shrunk = sampler.shrunk(batch_size)
    for item in shrunk:
        log.warning("%s: %s batches in %s hold only %d ids (shards.batch_size = %d)",
                    item["dataset"], item["batch_type"], item["language"], item["batch_size"], batch_size)
    manifest = {
        **manifest_head,
        "inputs": {s.dataset: {"path": s.path, "rows": s.num_rows, "xling_ids": len(s.xling_ids),
                               "ids_per_language": s.ids_per_language(),
                               "skipped_rows_per_language": s.skipped_languages} for s in sets},
        **counts.as_dict(),
        "shrunk_batches": shrunk,
        "shards": shards,
    }
    write_json(out / "manifest.json", manifest)
    return manifest
