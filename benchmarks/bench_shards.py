"""Benchmark `mixbatch shards`: rows/s and peak RSS on synthetic aligned sets.

Writes a synthetic split (fully parallel, like mMARCO: every id in all 14 languages) of
each size as a folder of Parquet files under benchmarks/out/shards/<size>/split/mlqa-r/
(train.parquet/ is a dataset folder, valid.parquet ~1% of it), then builds the hybrid
run's shards for one pass over the training rows in a subprocess per size, so each peak
RSS is that build's own. Prints a table and writes benchmarks/out/shards/results.json.

    .venv/bin/python benchmarks/bench_shards.py                 # 1M and 10M pairs
    .venv/bin/python benchmarks/bench_shards.py --sizes 100000  # quick check

Numbers belong in notes as ratios, never in tests.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

OUT = Path(__file__).resolve().parent / "out" / "shards"
LANGS = ["ar", "bn", "de", "en", "es", "fa", "fi", "fr", "hi", "id", "ja", "ko", "ru", "zh"]
FILE_ROWS = 1_000_000
# Runs in the subprocess: the build, then its own peak RSS (ru_maxrss, KiB on Linux) and
# the peak of its private memory (RssAnon, sampled every 10 ms). RSS also counts the
# page cache that the text store's memory maps touch: shared, clean, reclaimable.
RUNNER = """
import json, resource, sys, threading, time
from mixbatch.cli import main
peak_anon = [0]
def sample():
    while True:
        with open("/proc/self/status") as f:
            kib = next(int(line.split()[1]) for line in f if line.startswith("RssAnon:"))
        peak_anon[0] = max(peak_anon[0], kib)
        time.sleep(0.01)
threading.Thread(target=sample, daemon=True).start()
t = time.perf_counter()
rc = main(sys.argv[1:])
print(json.dumps({"seconds": time.perf_counter() - t, "peak_anon_mib": peak_anon[0] / 1024,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), file=sys.stderr)
sys.exit(rc)
"""


def _words(rng: np.random.Generator, n: int, length: int) -> pa.Array:
    """n random lowercase strings of `length` characters (a small pool, picked at random)."""
    pool = ["".join(rng.choice(list("abcdefghij klmnopqrstuvwxyz"), size=length)) for _ in range(997)]
    return pa.array(pool).take(pa.array(rng.integers(len(pool), size=n)))


def write_split_file(path: Path, first_id: int, num_ids: int, rng: np.random.Generator) -> int:
    """One Parquet file: ids [first_id, first_id + num_ids) in every language, sorted by lang."""
    ids = pc.cast(pa.array(np.tile(np.arange(first_id, first_id + num_ids), len(LANGS))), pa.string())
    lang = pa.array(np.repeat(LANGS, num_ids))
    n = len(ids)
    tag = pc.binary_join_element_wise(lang, ids, ":")
    table = pa.table({
        "xling_id": ids, "lang": lang, "qid": tag,
        "question": pc.binary_join_element_wise(tag, _words(rng, n, 40), " "),
        "cid": pc.binary_join_element_wise(tag, pa.array(["0:0"] * n), ":"),
        "sentence": pc.binary_join_element_wise(tag, _words(rng, n, 140), " "),
        "context": pc.binary_join_element_wise(tag, _words(rng, n, 300), " "),
    })
    pq.write_table(table, path, compression="zstd")
    return n


def make_split(folder: Path, pairs: int, seed: int = 0) -> None:
    """<folder>/mlqa-r/train.parquet/part-*.parquet (`pairs` rows) and valid.parquet (~1%)."""
    done = folder / "mlqa-r" / ".complete"
    if done.exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    train = folder / "mlqa-r" / "train.parquet"
    train.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    num_ids = -(-pairs // len(LANGS))
    per_file = max(1, FILE_ROWS // len(LANGS))
    for k, start in enumerate(range(0, num_ids, per_file)):
        write_split_file(train / f"part-{k:03d}.parquet", start, min(per_file, num_ids - start), rng)
    write_split_file(folder / "mlqa-r" / "valid.parquet", num_ids, max(1, num_ids // 100), rng)
    done.touch()


def measure(folder: Path, pairs: int, batches_per_shard: int) -> dict:
    params = folder / "params.yaml"
    params.write_text(yaml.safe_dump({"seed": 13, "split": {"datasets": ["mlqa-r"]}, "shards": {
        "batch_size": 32, "num_batches": None, "valid_batches": 20, "languages": LANGS,
        "passage": "sentence", "batches_per_shard": batches_per_shard}}))
    out = folder / "shards"
    cmd = [sys.executable, "-c", RUNNER, "shards", "--run", "hybrid",
           "--split-dir", str(folder / "split"), "--out", str(out), "--params", str(params)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode:
        sys.exit(proc.stderr)
    inner = json.loads(proc.stderr.strip().splitlines()[-1])
    manifest = json.loads((out / "manifest.json").read_text())
    shard_bytes = sum((out / s["file"]).stat().st_size for s in manifest["shards"])
    shutil.rmtree(out)
    return {"input_pairs": pairs, "output_rows": manifest["rows"], "shards": len(manifest["shards"]),
            "batches_per_shard": batches_per_shard, "seconds": round(inner["seconds"], 2),
            "wall_seconds_with_startup": round(wall, 2),
            "rows_per_s": round(manifest["rows"] / inner["seconds"]), "peak_rss_mib": round(inner["peak_rss_mib"]),
            "peak_private_mib": round(inner["peak_anon_mib"]),
            "shard_mib": round(shard_bytes / 2**20)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--batches-per-shard", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="keep the synthetic inputs for the next run")
    args = parser.parse_args()
    results = []
    for pairs in args.sizes:
        folder = OUT / f"{pairs}"
        t = time.perf_counter()
        make_split(folder / "split", pairs)
        print(f"{pairs:>11,} pairs: input ready in {time.perf_counter() - t:.0f} s", flush=True)
        results.append(measure(folder, pairs, args.batches_per_shard))
        print(json.dumps(results[-1]), flush=True)
        if not args.keep:
            shutil.rmtree(folder)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{'pairs':>11} {'rows/s':>10} {'peak RSS MiB':>13} {'peak private MiB':>17} {'seconds':>8}")
    for r in results:
        print(f"{r['input_pairs']:>11,} {r['rows_per_s']:>10,} {r['peak_rss_mib']:>13} "
              f"{r['peak_private_mib']:>17} {r['seconds']:>8}")


if __name__ == "__main__":
    main()
