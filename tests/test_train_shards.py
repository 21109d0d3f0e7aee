"""The trainer's shard stream: order, resume skipping, rank slices, bad shards."""

from __future__ import annotations

import pytest

from mixbatch.errors import MixbatchError
from mixbatch.train.shards import count_batches, iter_batches
from train_shards_fixture import make_rows, write_shards


def test_batches_come_in_order_and_skip_resumes(tmp_path):
    folder = write_shards(tmp_path / "run", n_batches=7, batch_size=3, batches_per_shard=3, negatives=True)
    batches = list(iter_batches(folder))
    assert [b.index for b in batches] == list(range(7)) and count_batches(folder) == 7
    assert all(len(b) == 3 and b.negatives is not None for b in batches)
    assert [b.index for b in iter_batches(folder, skip=4)] == [4, 5, 6]  # skips a whole shard
    assert batches[2].batch_type == "xx" and batches[3].batch_type == "xy"


def test_rank_slices_cover_the_batch(tmp_path):
    batch = next(iter_batches(write_shards(tmp_path / "run", 1, 5, n_valid=0)))
    parts = [batch.rows(r, 2) for r in range(2)]
    assert [len(p) for p in parts] == [3, 2]
    assert parts[0].queries + parts[1].queries == batch.queries


def test_bad_shards(tmp_path):
    rows = make_rows(2, 3, negatives=True)
    rows.loc[0, "negative"] = None
    rows.to_parquet(tmp_path / "shard-00000.parquet")
    with pytest.raises(MixbatchError, match="null on some rows"):
        list(iter_batches(tmp_path))
    make_rows(2, 3).iloc[::-1].to_parquet(tmp_path / "shard-00000.parquet")
    with pytest.raises(MixbatchError, match="not sorted"):
        list(iter_batches(tmp_path))
    with pytest.raises(MixbatchError, match="no shard"):
        list(iter_batches(tmp_path / "empty"))
