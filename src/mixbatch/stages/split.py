"""Stage split: train/validation split of one training data set by xling_id.

In:  <aligned>/{questions,candidates,qrels}.parquet (LAReQA format, from `mixbatch align`);
     params `seed` and section `split` (valid_fraction).
Out: <out>/train.parquet, <out>/valid.parquet (columns: mixbatch.data.split.PAIR_COLUMNS)
     and <out>/split.json (ids, rows and languages per side), written atomically.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd

from mixbatch.data.split import question_answer_pairs, train_valid_split
from mixbatch.errors import MixbatchError
from mixbatch.io import atomic_dir, write_json
from mixbatch.stages.common import add_params_argument, load_section

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help="training data set name, e.g. mlqa-r")
    parser.add_argument("--aligned", required=True, type=Path, help="e.g. data/aligned/mlqa-r")
    parser.add_argument("--out", required=True, type=Path, help="e.g. data/split/mlqa-r")
    add_params_argument(parser)


def _read(aligned: Path, name: str) -> pd.DataFrame:
    path = aligned / f"{name}.parquet"
    if not path.exists():
        raise MixbatchError(f"{path}: missing; run `mixbatch align` for this data set first")
    return pd.read_parquet(path)


def _summary(df: pd.DataFrame) -> dict:
    return {"ids": int(df["xling_id"].nunique()), "rows": len(df),
            "languages": {k: int(v) for k, v in df.groupby("lang").size().items()}}


def run(dataset: str, aligned: Path, out: Path, valid_fraction: float, seed: int) -> dict:
    pairs = question_answer_pairs(_read(aligned, "questions"), _read(aligned, "candidates"), _read(aligned, "qrels"))
    train, valid = train_valid_split(pairs, valid_fraction, seed, salt=dataset)
    report = {"dataset": dataset, "seed": seed, "valid_fraction": valid_fraction,
              "train": _summary(train), "valid": _summary(valid)}
    with atomic_dir(out) as tmp:
        train.to_parquet(tmp / "train.parquet", index=False)
        valid.to_parquet(tmp / "valid.parquet", index=False)
        write_json(tmp / "split.json", report)
    log.info("%s: train %d ids / %d rows, valid %d ids / %d rows", dataset,
             report["train"]["ids"], len(train), report["valid"]["ids"], len(valid))
    return report


def main(args: argparse.Namespace) -> None:
    params = load_section(args, "split")
    run(args.dataset, args.aligned, args.out, params["split"]["valid_fraction"], params["seed"])
