"""`mixbatch compare`: differences between result folders, or headlines side by side.

    mixbatch compare results ../other/results          # B - A with intervals and p-values
    mixbatch compare --headlines results ../other/results
    mixbatch compare --dvc-exps                        # headlines of this repository's experiments

In:  result folders (results/ of a checkout: details/<run>/<dataset>/questions.parquet and
     metrics/<run>/<dataset>.json), and with --dvc-exps `dvc exp show --json`.
Out: a Markdown table on stdout; with --csv, the same table as CSV (atomically).
     Two folders: per run config and LAReQA data set both have, each headline metric's
     difference (second - first), its interval (two-level bootstrap over xling_ids and
     seeds) and a paired randomisation p-value, Holm-adjusted over all rows (params
     `report`: resamples, confidence; `seed`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mixbatch.errors import MixbatchError
from mixbatch.io import atomic_path
from mixbatch.report.compare import compare_folders, headlines
from mixbatch.report.markdown import fmt_table
from mixbatch.stages.common import add_params_argument, load_section


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folders", nargs="*", type=Path, help="result folders, e.g. results ../other/results")
    parser.add_argument("--headlines", action="store_true", help="headline numbers side by side instead of differences")
    parser.add_argument("--dvc-exps", action="store_true", help="headlines of this repository's DVC experiments")
    parser.add_argument("--csv", type=Path, default=None, help="also write the table as CSV here")
    add_params_argument(parser)


def main(args: argparse.Namespace) -> None:
    if args.headlines or args.dvc_exps:
        table, digits = headlines(args.folders, args.dvc_exps), 4
    elif len(args.folders) == 2:
        params = load_section(args, "report")
        table = compare_folders(*args.folders, params["report"]["bootstrap_resamples"], params["seed"],
                                params["report"]["confidence"])
        digits = 4
    else:
        raise MixbatchError("give two result folders to compare (or --headlines / --dvc-exps)")
    print(fmt_table(table, digits))
    if args.csv:
        with atomic_path(args.csv) as tmp:
            table.to_csv(tmp, index=False)
