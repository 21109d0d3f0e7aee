"""Stage align: parse one downloaded data set into aligned long-format Parquet tables.

In:  <raw>/ as written by `mixbatch download` (params section `data`: only validated).
Out: <out>/ (written as a whole, atomically):
     xquad-r, mlqa-r: questions.parquet, candidates.parquet, qrels.parquet
     tatoeba:         pairs.parquet
     miracl:          questions.parquet, qrels.parquet
     and alignment.json with per-language counts (and, for LAReQA, how many ids are
     k-way parallel). Table columns: DEVELOPERS.md, "Data contracts".
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from mixbatch.data.datasets import LAREQA_LANGUAGES, MIRACL_LANGUAGES, SOURCES
from mixbatch.data.lareqa import align_lareqa
from mixbatch.data.miracl import align_miracl
from mixbatch.data.tatoeba import align_tatoeba
from mixbatch.errors import MixbatchError
from mixbatch.io import atomic_dir, write_json
from mixbatch.stages.common import add_params_argument, load_section

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, choices=SOURCES)
    parser.add_argument("--raw", required=True, type=Path, help="downloaded files, e.g. data/raw/xquad-r")
    parser.add_argument("--out", required=True, type=Path, help="output folder, e.g. data/aligned/xquad-r")
    add_params_argument(parser)


def run(dataset: str, raw: Path, out: Path) -> dict:
    if not raw.is_dir():
        raise MixbatchError(f"{raw}: no such folder; run `mixbatch download --dataset {dataset}` first")
    if dataset in LAREQA_LANGUAGES:
        questions, candidates, qrels, report = align_lareqa(raw, LAREQA_LANGUAGES[dataset])
        tables = {"questions": questions, "candidates": candidates, "qrels": qrels}
    elif dataset == "tatoeba":
        pairs, report = align_tatoeba(raw)
        tables = {"pairs": pairs}
    elif dataset == "miracl":
        questions, qrels, report = align_miracl(raw, MIRACL_LANGUAGES)
        tables = {"questions": questions, "qrels": qrels}
    else:
        raise MixbatchError(f"unknown data set {dataset!r}; known: {', '.join(SOURCES)}")
    report = {"dataset": dataset, **report, "tables": {name: len(df) for name, df in tables.items()}}
    with atomic_dir(out) as tmp:
        for name, df in tables.items():
            df.to_parquet(tmp / f"{name}.parquet", index=False)
        write_json(tmp / "alignment.json", report)
    log.info("%s: %s", dataset, ", ".join(f"{n} {len(df)} rows" for n, df in tables.items()))
    return report


def main(args: argparse.Namespace) -> None:
    load_section(args, "data")  # validates the params file, as every stage does
    run(args.dataset, args.raw, args.out)
