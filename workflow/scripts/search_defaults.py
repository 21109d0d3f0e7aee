"""The small search behind the default training params, on MLQA-R's held-out ids only.

Each configuration trains the hybrid run (alpha 0.5, seed 13) from params.yaml with some
`shards` / `train` values changed, then encodes and scores the evaluation set
mlqa-r-valid (MLQA-R's validation split: never trained on, never the test set XQuAD-R).
Everything else is params.yaml's. Results go to results/search/<config>/ and one table,
results/search/summary.csv (also printed as Markdown), with the training time.

    .venv/bin/python workflow/scripts/search_defaults.py [--only NAME ...]

    .venv/bin/python workflow/scripts/search_defaults.py --compare A[,A_SEED2] B[,B_SEED2]

The second form compares finished configurations on mlqa-r-valid (difference, 95% interval
from the cluster bootstrap over xling_ids and seeds, paired sign-flip p; Holm over the
metrics). Needs data/split/mlqa-r, data/aligned/mlqa-r-valid and data/models/base (e.g.
`snakemake --cores 2 data/split/mlqa-r data/models/base`). A configuration whose
metrics file exists is not rerun.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from mixbatch.report import stats

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "results" / "search"
# name -> changed params (dotted keys); shards.num_batches x shards.batch_size = pairs seen
CONFIGS = {
    "old-default": {},
    "dropout0": {"train.dropout": 0.0},
    "lr1e-4": {"train.dropout": 0.0, "train.lr": 1e-4},
    "lr1e-4-75steps": {"train.dropout": 0.0, "train.lr": 1e-4, "shards.num_batches": 75},
    "75steps": {"shards.num_batches": 75},
    "75steps-dropout0": {"train.dropout": 0.0, "shards.num_batches": 75},
    "120steps-dropout0": {"train.dropout": 0.0, "shards.num_batches": 120},
    "bs64-lr5e-5-40steps-dropout0": {"train.dropout": 0.0, "train.lr": 5e-5, "shards.batch_size": 64,
                                     "shards.num_batches": 40},
    "bs64-40steps-dropout0": {"train.dropout": 0.0, "shards.batch_size": 64, "shards.num_batches": 40},
    "lr5e-5-75steps-dropout0": {"train.dropout": 0.0, "train.lr": 5e-5, "shards.num_batches": 75},
    "75steps-dropout0-seed14": {"train.dropout": 0.0, "shards.num_batches": 75, "seed": 14},
    "temp0.1-75steps-dropout0": {"train.dropout": 0.0, "shards.num_batches": 75, "train.temperature": 0.1},
    "temp0.02-75steps-dropout0": {"train.dropout": 0.0, "shards.num_batches": 75, "train.temperature": 0.02},
    "temp0.02-75steps-dropout0-seed14": {"train.dropout": 0.0, "shards.num_batches": 75, "train.temperature": 0.02,
                                         "seed": 14},
    "temp0.01-75steps-dropout0": {"train.dropout": 0.0, "shards.num_batches": 75, "train.temperature": 0.01},
    "temp0.01-75steps-dropout0-seed14": {"train.dropout": 0.0, "shards.num_batches": 75, "train.temperature": 0.01,
                                         "seed": 14},
    "zeroshot": {"train.max_steps": 0, "shards.num_batches": 1, "zeroshot": True},
}
# The old default, written out so that the search does not move with params.yaml (whose
# values it chose): each configuration changes these.
BASE = {"shards.batch_size": 32, "shards.num_batches": 150, "train.lr": 3e-5, "train.warmup_ratio": 0.1,
        "train.dropout": None, "train.eval_every": 25}


def params_for(changes: dict) -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["grid"] = {**params["grid"], "runs": {"hybrid": {"sampling": "hybrid", "alpha": 0.5}}, "seeds": [13],
                      "zeroshot": False, "datasets": ["mlqa-r-valid"]}
    for key, value in {**BASE, **changes}.items():
        if key in ("seed", "zeroshot"):
            continue
        section, name = key.split(".")
        params[section][name] = value
    return params


def mixbatch(*args: str, log: Path) -> None:
    with open(log, "a") as f:
        proc = subprocess.run([sys.executable, "-m", "mixbatch.cli", *args], cwd=ROOT, stderr=f, stdout=f)
    if proc.returncode:
        sys.exit(f"mixbatch {args[0]} failed, see {log}")


def run_config(name: str, changes: dict) -> dict:
    folder = OUT / name
    metrics = folder / "metrics.json"
    seed = str(changes.get("seed", 13))
    if not metrics.exists():
        folder.mkdir(parents=True, exist_ok=True)
        params = folder / "params.yaml"
        params.write_text(yaml.safe_dump(params_for(changes), sort_keys=False))
        log, p = folder / "log.txt", ["--params", str(params)]
        model = "data/models/base"
        if not changes.get("zeroshot"):
            mixbatch("shards", "--run", "hybrid", "--seed", seed, "--split-dir", "data/split", "--out",
                     str(folder / "shards"), *p, log=log)
            start = time.perf_counter()
            mixbatch("train", "--seed", seed, "--base-model", model, "--shards", str(folder / "shards"),
                     "--out", str(folder / "model"), "--log", str(folder / "train.csv"),
                     "--metrics", str(folder / "train.json"), "--checkpoints", str(folder / "ckpt"), *p, log=log)
            (folder / "train_seconds.txt").write_text(f"{time.perf_counter() - start:.1f}\n")
            model = str(folder / "model")
        mixbatch("encode", "--dataset", "mlqa-r-valid", "--aligned", "data/aligned/mlqa-r-valid", "--model",
                 model, "--out", str(folder / "emb"), *p, log=log)
        mixbatch("score", "--dataset", "mlqa-r-valid", "--aligned", "data/aligned/mlqa-r-valid", "--embeddings",
                 str(folder / "emb"), "--metrics", str(metrics), "--plots", str(folder / "plots"),
                 "--details", str(folder / "details"), *p, log=log)
    trained = (folder / "train.json").exists()
    train = json.loads((folder / "train.json").read_text()) if trained else {}
    return {"config": name, **{k: v for k, v in changes.items()}, **json.loads(metrics.read_text()),
            "best_step": train.get("best_step"), "best_val_loss": train.get("best_val_loss"),
            "train_s": float((folder / "train_seconds.txt").read_text()) if trained else 0.0}


def compare_configs(a: list[str], b: list[str]) -> pd.DataFrame:
    """A - B on mlqa-r-valid with intervals and p (mixbatch.report.stats): each side's
    configurations are its seeds (e.g. one configuration trained with seeds 13 and 14)."""
    tables = [[pd.read_parquet(OUT / name / "details" / "questions.parquet") for name in side] for side in (a, b)]
    return stats.add_holm(stats.compare(*tables, stats.specs_of_columns(tables[0][0].columns), seed=13))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=None, help="configuration names (default: all)")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"), default=None,
                    help="instead: A - B with intervals and p; A, B: configuration names, comma-separated seeds")
    args = ap.parse_args()
    if args.compare:
        a, b = (side.split(",") for side in args.compare)
        table = compare_configs(a, b)
        table.to_csv(OUT / f"compare_{'+'.join(a)}_vs_{'+'.join(b)}.csv", index=False)
        print(table.to_markdown(index=False, floatfmt=".4f"))
        return
    rows = [run_config(name, changes) for name, changes in CONFIGS.items() if not args.only or name in args.only]
    table = pd.DataFrame(rows)
    table.to_csv(OUT / "summary.csv", index=False)
    print(table.to_markdown(index=False, floatfmt=".4f"))


if __name__ == "__main__":
    main()
