"""Stage report: the paper-style comparison of all runs, as Markdown, CSV and PNG.

In:  --metrics results/metrics/<run>/<dataset>.json (`mixbatch score`), --train
     results/train/<run>/log.csv (`mixbatch train`); params `runs`/`sweep` (which runs),
     `encode.datasets` (which evaluation sets), `shards.languages` (seen languages).
Out: --out results/report.md (Table 1 layout Mo./Cr./Mul. mAP; Table 2 layout
     mAP@20, R@1, R@10, rank distance; seen vs unseen languages; Tatoeba; MIRACL or why
     it was skipped; the paper's numbers beside ours); --assets results/report/: one CSV
     per table, and PNGs:
     per-language bars, loss curves, the alpha sweep (when >= 3 alphas were run). The
     X->Y mAP heatmaps come from `mixbatch score` (results/plots/<run>/<dataset>/).
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import pandas as pd

from mixbatch.config import load_params
from mixbatch.data.datasets import LAREQA_DATASETS
from mixbatch.grid import expand_runs
from mixbatch.io import atomic_dir, atomic_path
from mixbatch.report import collect, plots
from mixbatch.report.markdown import fmt_table, paper_miracl, paper_rank_distance, paper_table1
from mixbatch.stages.common import add_params_argument

log = logging.getLogger(__name__)
DATASET_TITLES = {"xquad-r": "XQuAD-R (zero-shot: not trained on)", "mlqa-r": "MLQA-R (in-domain: our training set)",
                  "tatoeba": "Tatoeba (sentence retrieval, accuracy@1)", "miracl": "MIRACL dev"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics", required=True, type=Path, help="results/metrics")
    parser.add_argument("--train", required=True, type=Path, help="results/train")
    parser.add_argument("--out", required=True, type=Path, help="the Markdown report, e.g. results/report.md")
    parser.add_argument("--assets", required=True, type=Path, help="folder for its CSVs and PNGs, e.g. results/report")
    add_params_argument(parser)


def _describe_run(name: str, cfg: dict) -> str:
    alpha = f", alpha {cfg['alpha']}" if cfg["sampling"] == "hybrid" else ""
    return f"{name} ({cfg['sampling']}{alpha})"


def _sweep_points(table: pd.DataFrame) -> pd.DataFrame:
    """(alpha, Mo., Cr., Mul.) per run with a defined alpha: X-Y is 0, X-X is 1, hybrid its own."""
    alpha = table["alpha"].where(table["sampling"] == "Hybrid")
    alpha = alpha.fillna(table["sampling"].map({"X-X": 1.0, "X-Y": 0.0}))
    return table.assign(alpha=alpha).dropna(subset=["alpha"])


def _lareqa_section(tmp: Path, rel: str, metrics, runs, dataset: str, seen: list[str], rel_plots: str) -> list[str]:
    table = collect.lareqa_table(metrics, runs, dataset)
    table.to_csv(tmp / f"{dataset}.csv", index=False)
    lines = [f"## {DATASET_TITLES[dataset]}", "", "### mAP (Table 1 layout)", "",
             fmt_table(table[["run", "sampling", "alpha", "mo_map", "cr_map", "mul_map"]] if len(table) else table),
             "Paper (their backbones and training data):", "", fmt_table(paper_table1(dataset)),
             "### Multilingual setting: mAP@20, R@k and language bias (Table 2 layout; rank distance: lower is better)", "",
             fmt_table(table[["run", "sampling", "mul_map@20", "mul_r@1", "mul_r@10", "rank_distance"]] if len(table) else table, 3),
             "Paper, mean maximum rank distance:", "", fmt_table(paper_rank_distance(dataset), 1)]
    split = collect.seen_unseen_table(metrics, runs, dataset, seen)
    if len(split):
        split.to_csv(tmp / f"{dataset}_seen_unseen.csv", index=False)
        lines += ["### Seen vs unseen question languages (macro mAP)", "",
                  f"Seen: {split['seen_languages'].iloc[0] or '-'}; unseen: {split['unseen_languages'].iloc[0] or '-'}.", "",
                  fmt_table(split.drop(columns=["seen_languages", "unseen_languages"]))]
    per_lang = collect.per_lang_table(metrics, runs, dataset)
    if not per_lang.empty:
        per_lang.to_csv(tmp / f"{dataset}_per_lang_mul_map.csv")
        png = plots.per_lang_bars(per_lang, f"{dataset}: Mul. mAP by question language", "mAP",
                                  tmp / f"{dataset}_per_lang.png", unseen=set(per_lang.index) - set(seen))
        lines += [f"![per-language Mul. mAP]({rel}/{png.name})", ""]
    sweep = _sweep_points(table) if len(table) else table
    if len(sweep) and sweep["alpha"].nunique() >= 3:
        png = plots.alpha_sweep(sweep, dataset, tmp / f"{dataset}_alpha_sweep.png")
        lines += [f"![alpha sweep]({rel}/{png.name})", ""]
    heatmaps = [f"[{run}]({rel_plots}/{run}/{dataset}/map_heatmap.png)" for run in runs if run in metrics and dataset in metrics[run]]
    if heatmaps:
        lines += ["X->Y mAP heatmaps: " + ", ".join(heatmaps), ""]
    return lines


def run(metrics_dir: Path, train_dir: Path, out: Path, assets: Path, params: dict) -> Path:
    runs = expand_runs(params)
    datasets = params["encode"]["datasets"]
    seen = params["shards"]["languages"]
    metrics = collect.load_metrics(metrics_dir, list(runs), datasets)
    rel_plots = os.path.relpath(metrics_dir.parent / "plots", out.parent)
    rel = os.path.relpath(assets, out.parent)
    with atomic_dir(assets) as tmp:
        lines = ["# mixbatch report", "",
                 f"Runs: {', '.join(_describe_run(r, c) for r, c in runs.items())}. "
                 f"Training languages (seen): {' '.join(seen)}. Seed {params['seed']}.", ""]
        missing = [f"{r}/{d}" for r in runs for d in datasets if d not in metrics.get(r, {})]
        if missing:
            lines += [f"Missing metrics (not run yet or failed): {', '.join(missing)}", ""]
        for dataset in datasets:
            if dataset in LAREQA_DATASETS:
                lines += _lareqa_section(tmp, rel, metrics, runs, dataset, seen, rel_plots)
            elif dataset == "tatoeba":
                table = collect.tatoeba_table(metrics, runs)
                table.to_csv(tmp / "tatoeba.csv", index=False)
                lines += [f"## {DATASET_TITLES[dataset]}", "",
                          "Mean of both directions (xx->en, en->xx) over XTREME-R's languages present, and over all scored.", "",
                          fmt_table(table)]
            elif dataset == "miracl":
                table = collect.miracl_table(metrics, runs)
                table.to_csv(tmp / "miracl.csv", index=False)
                lines += [f"## {DATASET_TITLES[dataset]}", "", fmt_table(table), "Paper:", "", fmt_table(paper_miracl())]
        logs = collect.read_train_logs(train_dir, list(runs))
        if logs:
            png = plots.loss_curves(logs, tmp / "loss_curves.png")
            lines += ["## Training", "", f"![loss curves]({rel}/{png.name})", ""]
    with atomic_path(out) as tmp_md:
        tmp_md.write_text("\n".join(lines), encoding="utf-8")
    log.info("wrote %s and %s/", out, assets)
    return out


def main(args: argparse.Namespace) -> None:
    run(args.metrics, args.train, args.out, args.assets, load_params(args.params))
