"""Benchmark the report's statistics: every run's intervals, every pair's differences and
tests, for each question-language group, on the default run's per-question tables.

Two ways, side by side in one run on the same tables and resampling settings:
- paired: mixbatch.report.analysis as the report uses it (stats.PairedRuns per group:
  one cluster draw and one set of sign flips for all runs, pairs and metrics; each run's
  replicates computed once);
- per pair: what the report did before, stats.run_intervals per run and stats.compare per
  pair, each drawing its own resamples and rebuilding both runs' cluster sums.
Both give the same kind of numbers (intervals and p-values agree to Monte Carlo noise,
printed). Then the whole `mixbatch report` command, wall time. Writes
benchmarks/out/report/results.json. Numbers go into notes as ratios, never into tests.

    .venv/bin/python benchmarks/bench_report.py [--details results/details] [--dataset xquad-r]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from mixbatch.config import validate_params
from mixbatch.model import precision
from mixbatch.report import analysis, stats
from mixbatch.stages.report import PAIRWISE, specs_of

OUT = Path("benchmarks/out/report")


def paired(tables, specs, settings, seen, groups) -> tuple[pd.DataFrame, pd.DataFrame]:
    pairs, values, diffs = analysis.all_pairs(tables), [], []
    for group in groups:
        runs = analysis.paired_runs(tables, specs, settings, seen, group)
        values.append(analysis.run_values(runs, group))
        diffs.append(analysis.compare_runs(runs, pairs, list(PAIRWISE), group))
    return pd.concat(values, ignore_index=True), pd.concat(diffs, ignore_index=True)


def per_pair(tables, specs, settings, seen, groups) -> tuple[pd.DataFrame, pd.DataFrame]:
    chosen = [s for s in specs if s.name in PAIRWISE]
    values, diffs = [], []
    for group in groups:
        for i, (config, seed_tables) in enumerate(tables.items()):
            frame = stats.run_intervals(analysis.in_group(seed_tables, group, seen), specs, settings.n_resamples,
                                        settings.seed + i, settings.confidence)
            values.append(frame.assign(run=config, group=group))
        for i, (a, b) in enumerate(analysis.all_pairs(tables)):
            frame = stats.compare(analysis.in_group(tables[a], group, seen), analysis.in_group(tables[b], group, seen),
                                  chosen, settings.n_resamples, settings.seed + 1000 + i, settings.confidence,
                                  settings.n_permutations)
            diffs.append(frame.assign(a=a, b=b, group=group))
    return pd.concat(values, ignore_index=True), pd.concat(diffs, ignore_index=True)


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def cpu_flags() -> str:
    flags = precision.cpu_flags()
    return " ".join(f for f in ("amx_bf16", "avx512_bf16", "avx512f", "avx2") if f in flags) or "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--details", type=Path, default=Path("results/details"))
    ap.add_argument("--dataset", default="xquad-r")
    ap.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = ap.parse_args()
    params = validate_params(yaml.safe_load(args.params.read_text()))
    tables = analysis.load_question_tables(args.details, params, args.dataset)
    if len(tables) < 2:
        sys.exit(f"{args.details}: fewer than two runs with per-question results for {args.dataset}: run the pipeline")
    settings, seen = analysis.Settings.from_params(params), params["shards"]["languages"]
    specs = specs_of(tables)
    groups = analysis.groups_present(next(iter(tables.values())), seen)
    n_pairs = len(analysis.all_pairs(tables))
    print(f"CPU: {cpu_flags()}; {len(tables)} runs ({', '.join(f'{c}: {len(t)} seeds' for c, t in tables.items())}), "
          f"{n_pairs} pairs, groups {groups}, {settings.n_resamples} resamples, {settings.n_permutations} flips")

    paired_s, (paired_values, paired_diffs) = timed(paired, tables, specs, settings, seen, groups)
    per_pair_s, (old_values, old_diffs) = timed(per_pair, tables, specs, settings, seen, groups)
    keys = ["a", "b", "group", "metric"]
    both = paired_diffs.merge(old_diffs, on=keys, suffixes=("", "_per_pair"))
    agreement = {"max |ci_low difference| (Mul. mAP)": float((both.ci_low - both.ci_low_per_pair)[both.metric == "mul_map"].abs().max()),
                 "max |p difference|": float((both.p_value - both.p_value_per_pair).abs().max()),
                 "max |diff difference|": float((both["diff"] - both["diff_per_pair"]).abs().max())}
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "mixbatch.cli", "report", "--metrics", "results/metrics", "--plots",
                   "results/plots", "--details", str(args.details), "--train", "results/train", "--out",
                   f"{tmp}/report.md", "--assets", f"{tmp}/report", "--headline", f"{tmp}/headline.json",
                   "--params", str(args.params)]
        report_s, proc = timed(lambda: subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        if proc.returncode:
            sys.exit(f"mixbatch report failed:\n{proc.stderr.decode()[-2000:]}")
    results = {"cpu": cpu_flags(), "dataset": args.dataset, "runs": len(tables), "pairs": n_pairs, "groups": groups,
               "statistics_paired_s": round(paired_s, 2), "statistics_per_pair_s": round(per_pair_s, 2),
               "speedup": round(per_pair_s / paired_s, 1), "agreement": agreement,
               "mixbatch_report_command_s": round(report_s, 2)}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
