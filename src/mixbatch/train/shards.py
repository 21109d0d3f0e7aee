"""Stream training batches, in order, from the shard folders written by `mixbatch shards`.

A shard folder holds shard-00000.parquet, shard-00001.parquet, ... with one row per
(query, positive[, negative]) pair and a `batch` column (global batch index); a batch
never spans two shards. The trainer does no sampling: batch k of the stream is step k.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow.parquet as pq

from mixbatch.errors import MixbatchError

REQUIRED = ("batch", "xling_id", "query", "positive")


@dataclass
class Batch:
    index: int              # global batch index (the `batch` column)
    shard: str              # file it came from
    xling_ids: list[str]
    queries: list[str]
    positives: list[str]
    negatives: list[str] | None
    batch_type: str | None

    def __len__(self) -> int:
        return len(self.queries)

    def rows(self, part: int, parts: int) -> "Batch":
        """This rank's contiguous slice of the rows (np.array_split sizes)."""
        bounds = np.cumsum([0] + [len(a) for a in np.array_split(np.arange(len(self)), parts)])
        a, b = int(bounds[part]), int(bounds[part + 1])
        neg = self.negatives[a:b] if self.negatives is not None else None
        return Batch(self.index, self.shard, self.xling_ids[a:b], self.queries[a:b],
                     self.positives[a:b], neg, self.batch_type)


def shard_files(folder: str | Path) -> list[Path]:
    """shard-*.parquet in folder, in name order; an error when there are none."""
    folder = Path(folder)
    files = sorted(folder.glob("shard-*.parquet"))
    if not files:
        raise MixbatchError(f"{folder}: no shard-*.parquet files; run `mixbatch shards` first")
    return files


def count_batches(folder: str | Path) -> int:
    """Number of batches in a shard folder (reads only the `batch` column)."""
    return sum(len(np.unique(pq.read_table(f, columns=["batch"])["batch"].to_numpy())) for f in shard_files(folder))


def _check_columns(path: Path, names: list[str]) -> None:
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise MixbatchError(f"{path}: missing column(s) {', '.join(missing)}; a shard needs {', '.join(REQUIRED)}")


def iter_batches(folder: str | Path, skip: int = 0) -> Iterator[Batch]:
    """Yield the batches of a shard folder in order, skipping the first `skip` batches.

    Whole shards before the resume point are skipped by counting their `batch` values,
    without reading their text.
    """
    seen = 0
    for path in shard_files(folder):
        if skip:
            n = len(np.unique(pq.read_table(path, columns=["batch"])["batch"].to_numpy()))
            if seen + n <= skip:
                seen += n
                continue
        table = pq.read_table(path)
        _check_columns(path, table.column_names)
        batch_col = table["batch"].to_numpy()
        if len(batch_col) and np.any(np.diff(batch_col) < 0):
            raise MixbatchError(f"{path}: rows are not sorted by `batch`")
        cols = {c: table[c].to_pylist() for c in ("xling_id", "query", "positive")}
        negatives = table["negative"].to_pylist() if "negative" in table.column_names else None
        if negatives is not None and any(v is None for v in negatives):
            if all(v is None for v in negatives):
                negatives = None
            else:
                raise MixbatchError(f"{path}: column `negative` is null on some rows only; give every row a negative or none")
        types = table["batch_type"].to_pylist() if "batch_type" in table.column_names else None
        starts = np.flatnonzero(np.r_[True, np.diff(batch_col) != 0])
        ends = np.r_[starts[1:], len(batch_col)]
        for a, b in zip(starts, ends):
            if seen < skip:
                seen += 1
                continue
            seen += 1
            yield Batch(int(batch_col[a]), path.name, cols["xling_id"][a:b], cols["query"][a:b],
                        cols["positive"][a:b], negatives[a:b] if negatives is not None else None,
                        types[a] if types is not None else None)
