"""`mixbatch compare`: headline metrics across result folders and/or DVC experiments.

In:  result folders (each with metrics/<run>/<dataset>.json, e.g. results/ or a copy of
     another checkout's results/), and with --dvc-exps the experiments of this repository.
Out: a Markdown table on stdout; with --csv, the same table as CSV (atomically).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mixbatch.io import atomic_path
from mixbatch.report.compare import compare
from mixbatch.report.markdown import fmt_table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folders", nargs="*", type=Path, help="result folders, e.g. results ../other/results")
    parser.add_argument("--dvc-exps", action="store_true", help="add this repository's DVC experiments")
    parser.add_argument("--csv", type=Path, default=None, help="also write the table as CSV here")


def main(args: argparse.Namespace) -> None:
    table = compare(args.folders, args.dvc_exps)
    print(fmt_table(table))
    if args.csv:
        with atomic_path(args.csv) as tmp:
            table.to_csv(tmp, index=False)
