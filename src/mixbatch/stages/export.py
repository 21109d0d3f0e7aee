"""Stage export: one trained run as a publishable folder, with a Hugging Face model card.

In:  --model data/models/<run> (weights, tokenizer, sentence-transformers files), --report
     results/report (the report's CSVs: this run's own numbers and its run's mean over
     seeds with intervals), params (what shaped the model: grid.runs.<run>, shards,
     train, model, split.datasets).
Out: --out data/export/<run>: a copy of the model folder plus README.md, the model card
     (mixbatch.report.model_card): YAML metadata (base_model, language, license,
     datasets, library_name, pipeline_tag, tags, model-index) and how it was trained,
     how it scored, how to load it. Push it with `hf upload <user>/<name> data/export/<run>`.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from mixbatch import grid
from mixbatch.data.datasets import kind
from mixbatch.errors import MixbatchError
from mixbatch.io import atomic_dir
from mixbatch.pipeline.table import ENCODER_PARAMS, TRAIN_PARAMS, lookup
from mixbatch.report.model_card import render_model_card
from mixbatch.stages.common import add_params_argument, load_section

log = logging.getLogger(__name__)
# The licence of the weights follows the most restrictive training data (MLQA-R: NC).
DATA_LICENCES = {"mlqa-r": "CC BY-NC 4.0", "xquad-r": "CC BY-SA 4.0"}
HUB_LICENCES = {"mlqa-r": "cc-by-nc-4.0", "xquad-r": "cc-by-sa-4.0"}
LABELS = {"mo_map": "Mo. mAP", "cr_map": "Cr. mAP", "mul_map": "Mul. mAP", "rank_distance": "rank distance",
          "acc": "accuracy@1"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="a trained run, <run>-s<seed> (e.g. hybrid-s13)")
    parser.add_argument("--model", required=True, type=Path, help="data/models/<run>")
    parser.add_argument("--report", required=True, type=Path, help="results/report (the report's CSVs)")
    parser.add_argument("--out", required=True, type=Path, help="data/export/<run>")
    add_params_argument(parser)


def _label(metric: str) -> str:
    return LABELS.get(metric, metric.replace("mul_", "Mul. ").replace("map", "mAP").replace("r@", "R@"))


def results_rows(report: Path, run: grid.Run, datasets: list[str]) -> list[dict]:
    """This model's numbers, then its run's mean over seeds with the interval, per data set."""
    rows = []
    for d in datasets:
        per_run = report / (f"{d}_per_run.csv" if kind(d) == "lareqa" else "tatoeba_per_run.csv")
        if kind(d) == "miracl" or not per_run.exists():
            continue
        own = pd.read_csv(per_run)
        own = own[own["run"] == run.name]
        metrics = [m for m in ("mo_map", "cr_map", "mul_map", "rank_distance", "acc") if m in own.columns]
        rows += [{"dataset": d, "metric": _label(m), "value": float(own[m].iloc[0])} for m in metrics if len(own)]
        runs = report / f"{d}_runs.csv"
        if kind(d) == "lareqa" and runs.exists():
            mean = pd.read_csv(runs)
            mean = mean[(mean["run"] == run.config) & mean["metric"].isin(metrics)]
            rows += [{"dataset": d, "metric": f"{_label(r.metric)}, mean of {r.n_seeds} seeds", "value": r.value,
                      "ci_low": r.ci_low, "ci_high": r.ci_high} for r in mean.itertuples()]
    return rows


def card(params: dict, run: grid.Run, report: Path) -> str:
    settings = grid.run_settings(params, run)
    train_sets = params["split"]["datasets"]
    shaping = [f"grid.runs.{run.config}", "shards", *ENCODER_PARAMS, *TRAIN_PARAMS]
    flat = {}
    for key in shaping:
        value = lookup(params, key)
        flat.update({f"{key}.{k}": v for k, v in value.items()} if isinstance(value, dict) else {key: value})
    strictest = next((HUB_LICENCES[d] for d in ("mlqa-r", "xquad-r") if d in train_sets), "other")
    return render_model_card(
        run=run.name, sampling=settings["sampling"], alpha=settings.get("alpha"), seed=run.seed,
        base_model=params["model"]["name"], train_datasets=train_sets, languages=params["shards"]["languages"],
        params=flat, results=results_rows(report, run, params["grid"]["datasets"]), license=strictest,
        data_licences={d: DATA_LICENCES[d] for d in train_sets}, encoder=params["model"],
        mixbatch_version=version("mixbatch"), ci_level=params["report"]["confidence"])


def run(params: dict, run_name: str, model: Path, report: Path, out: Path) -> None:
    run_ = grid.find_run(params, run_name)
    if not run_.trained:
        raise MixbatchError(f"--run {run_name}: the zero-shot run is the base model; there is nothing to publish")
    if not (model / "modules.json").exists():
        raise MixbatchError(f"{model}: not a sentence-transformers model folder (no modules.json); rerun `mixbatch train`")
    text = card(params, run_, report)
    with atomic_dir(out) as tmp:
        shutil.copytree(model, tmp, dirs_exist_ok=True)
        (tmp / "README.md").write_text(text, encoding="utf-8")
    log.info("wrote %s (model card: %s)", out, out / "README.md")


def main(args: argparse.Namespace) -> None:
    params = load_section(args, "grid", "split", "shards", "model", "train", "report")
    run(params, args.run, args.model, args.report, args.out)
