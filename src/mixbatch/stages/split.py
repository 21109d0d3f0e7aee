"""Stage split: train/validation split of one training data set by xling_id.

In:  <aligned>/{questions,candidates,qrels}.parquet (LAReQA format, from `mixbatch align`);
     params `seed` and `split.valid_fraction`.
Out: <out>/train.parquet, <out>/valid.parquet (columns: mixbatch.data.split.PAIR_COLUMNS)
     and <out>/split.json (ids, rows and languages per side); --heldout, the aligned
     tables of the evaluation set <dataset>-valid: the held-out ids' questions and qrels
     against the whole candidate pool (mixbatch.data.split.heldout_tables). Both folders
     are written atomically.
     mMARCO: --raw data/raw/mmarco (the hub files) instead of --aligned, params `mmarco`
     (languages, translation, max_queries); converted language by language
     (mixbatch.data.mmarco.write_mmarco_split), no held-out evaluation tables.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd

from mixbatch.data.datasets import PAIR_SOURCES
from mixbatch.data.split import heldout_tables, question_answer_pairs, train_valid_split
from mixbatch.errors import MixbatchError
from mixbatch.io import atomic_dir, write_json
from mixbatch.stages.common import add_params_argument, load_section

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help="training data set name, e.g. mlqa-r")
    parser.add_argument("--aligned", type=Path, help="e.g. data/aligned/mlqa-r")
    parser.add_argument("--raw", type=Path, help="mMARCO's fetched hub files, e.g. data/raw/mmarco")
    parser.add_argument("--out", required=True, type=Path, help="e.g. data/split/mlqa-r")
    parser.add_argument("--heldout", type=Path, help="e.g. data/aligned/mlqa-r-valid (LAReQA sets)")
    add_params_argument(parser)


def _read(aligned: Path, name: str) -> pd.DataFrame:
    path = aligned / f"{name}.parquet"
    if not path.exists():
        raise MixbatchError(f"{path}: missing; run `mixbatch align` for this data set first")
    return pd.read_parquet(path)


def _summary(df: pd.DataFrame) -> dict:
    return {"ids": int(df["xling_id"].nunique()), "rows": len(df),
            "languages": {k: int(v) for k, v in df.groupby("lang").size().items()}}


def run(dataset: str, aligned: Path, out: Path, heldout: Path, valid_fraction: float, seed: int) -> dict:
    tables = {name: _read(aligned, name) for name in ("questions", "candidates", "qrels")}
    pairs = question_answer_pairs(tables["questions"], tables["candidates"], tables["qrels"])
    train, valid = train_valid_split(pairs, valid_fraction, seed, salt=dataset)
    report = {"dataset": dataset, "seed": seed, "valid_fraction": valid_fraction,
              "train": _summary(train), "valid": _summary(valid)}
    held = dict(zip(tables, heldout_tables(*tables.values(), set(valid["xling_id"]))))
    with atomic_dir(out) as tmp, atomic_dir(heldout) as tmp_held:
        train.to_parquet(tmp / "train.parquet", index=False)
        valid.to_parquet(tmp / "valid.parquet", index=False)
        write_json(tmp / "split.json", report)
        for name, df in held.items():
            df.to_parquet(tmp_held / f"{name}.parquet", index=False)
        write_json(tmp_held / "alignment.json", {"dataset": heldout.name, "held_out_from": dataset,
                                                 "tables": {n: len(df) for n, df in held.items()}})
    log.info("%s: train %d ids / %d rows, valid %d ids / %d rows", dataset,
             report["train"]["ids"], len(train), report["valid"]["ids"], len(valid))
    return report


def main(args: argparse.Namespace) -> None:
    params = load_section(args, "split", "mmarco")
    fraction = params["split"]["valid_fraction"]
    if args.dataset in PAIR_SOURCES:
        if args.raw is None:
            raise MixbatchError(f"--dataset {args.dataset}: pass --raw, the folder of its fetched files")
        from mixbatch.data.mmarco import write_mmarco_split

        m = params["mmarco"]
        write_mmarco_split(args.raw, args.out, m["languages"], fraction, params["seed"], m["translation"], m["max_queries"])
        return
    if args.aligned is None or args.heldout is None:
        raise MixbatchError(f"--dataset {args.dataset}: pass --aligned and --heldout")
    run(args.dataset, args.aligned, args.out, args.heldout, fraction, params["seed"])
