"""The zero-shot run: no batches, no training; its model folder is a copy of the base model."""

from __future__ import annotations

import json
import subprocess
import sys

from shards_fixture import write_params, write_split


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mixbatch.cli", *map(str, args)], capture_output=True, text=True)


def test_zeroshot_run_copies_base_and_leaves_it_untouched(tmp_path, tiny_model_dir):
    write_split(tmp_path / "split", "mlqa-r", {"en": 8, "de": 8}, {"en": 4, "de": 4})
    params = write_params(tmp_path / "params.yaml", shards={"languages": ["en", "de"], "batch_size": 2})
    shards = tmp_path / "shards" / "zeroshot"
    proc = _cli("shards", "--run", "zeroshot", "--split-dir", tmp_path / "split", "--out", shards, "--params", params)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((shards / "manifest.json").read_text())["batches"] == 0
    assert not list(shards.glob("shard-*.parquet"))

    before = {f.name: f.stat() for f in tiny_model_dir.iterdir()}
    out = tmp_path / "models" / "zeroshot"
    proc = _cli("train", "--base-model", tiny_model_dir, "--shards", shards, "--out", out,
                "--log", tmp_path / "log.csv", "--metrics", tmp_path / "metrics.json",
                "--checkpoints", tmp_path / "ckpt", "--params", params)
    assert proc.returncode == 0, proc.stderr
    for name, stat in before.items():
        assert (out / name).read_bytes() == (tiny_model_dir / name).read_bytes()
        after = (tiny_model_dir / name).stat()
        # no new hard link and no metadata change: Snakemake must not see the base as updated
        assert (after.st_nlink, after.st_mtime_ns, after.st_ctime_ns) == (stat.st_nlink, stat.st_mtime_ns, stat.st_ctime_ns)
    assert (tmp_path / "log.csv").read_text() == "step,loss,val_loss,lr,pairs_per_s\n"
    assert json.loads((tmp_path / "metrics.json").read_text())["trained"] is False
    assert not (tmp_path / "ckpt").exists()
