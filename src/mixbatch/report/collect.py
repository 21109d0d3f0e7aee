"""Read what the score and train stages wrote into tables (pandas), one row per run.

In: results/metrics/<run>/<dataset>.json (headline numbers), results/plots/<run>/<dataset>/
(per-language tables) and results/train/<run>/log.csv. A missing file is a missing row,
reported by the caller, never an invented number.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mixbatch import grid, paths
from mixbatch.errors import MixbatchError
from mixbatch.report.paper import SAMPLING_LABEL


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise MixbatchError(f"{path}: not valid JSON ({e})") from None


def headline_rows(metrics_dir: Path, params: dict, dataset: str) -> pd.DataFrame:
    """One row per run (seed) that has a metrics file: run, config, seed, then its numbers."""
    rows = []
    for run in grid.all_runs(params):
        path = Path(metrics_dir) / paths.METRICS_IN.format(run=run.name, dataset=dataset)
        if path.exists():
            rows.append({"run": run.name, "config": run.config, "seed": run.seed, **read_json(path)})
    return pd.DataFrame(rows)


def missing(metrics_dir: Path, params: dict) -> list[str]:
    """<run>/<dataset> of every metrics file the grid expects that does not exist."""
    return [f"{run.name}/{d}" for run in grid.all_runs(params) for d in params["grid"]["datasets"]
            if not (Path(metrics_dir) / paths.METRICS_IN.format(run=run.name, dataset=d)).exists()]


def describe(config: str, params: dict) -> dict:
    """run, sampling label, alpha of a run config."""
    settings = params["grid"]["runs"].get(config, {"sampling": "none"})
    alpha = settings.get("alpha") if settings["sampling"] == "hybrid" else None
    return {"run": config, "sampling": SAMPLING_LABEL.get(settings["sampling"], settings["sampling"]), "alpha": alpha}


def seed_summary(rows: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Per run config: mean and standard deviation over its seeds of each column."""
    grouped = rows.groupby("config", sort=False)[columns]
    means, sds = grouped.mean(), grouped.std(ddof=1)
    out = means.copy()
    for c in columns:
        out[f"{c}_sd"] = sds[c]
    return out.reset_index().rename(columns={"config": "run"}).assign(n_seeds=grouped.size().to_numpy())


def per_language(plots_dir: Path, params: dict, dataset: str, column: str) -> pd.DataFrame:
    """Languages x run configs: the seed mean of one per_lang.csv column."""
    cols = {}
    for config, runs in grid.by_config(params).items():
        tables = [pd.read_csv(f).set_index("lang")[column] for f in
                  (Path(plots_dir) / paths.RUN_DATASET.format(run=r.name, dataset=dataset) / "per_lang.csv" for r in runs)
                  if f.exists()]
        if tables:
            cols[config] = pd.concat(tables, axis=1).mean(axis=1)
    return pd.DataFrame(cols)


def language_mix(plots_dir: Path, params: dict, dataset: str) -> pd.DataFrame:
    """Seed means of mix.csv: run, question_lang, candidate_lang, top, relevant."""
    frames = []
    for config, runs in grid.by_config(params).items():
        for r in runs:
            f = Path(plots_dir) / paths.RUN_DATASET.format(run=r.name, dataset=dataset) / "mix.csv"
            if f.exists():
                frames.append(pd.read_csv(f).assign(run=config))
    if not frames:
        return pd.DataFrame()
    both = pd.concat(frames)
    return both.groupby(["run", "question_lang", "candidate_lang"], sort=False)[["top", "relevant"]].mean().reset_index()


def read_train_logs(train_dir: Path, params: dict) -> dict[str, pd.DataFrame]:
    """{run: its training log} for the trained runs whose log has rows."""
    logs = {}
    for run in grid.trained_runs(params):
        path = Path(train_dir) / paths.TRAIN_LOG_IN.format(run=run.name)
        if path.exists():
            df = pd.read_csv(path)
            if len(df):
                logs[run.name] = df
    return logs


def fmt_interval(value: float, low: float, high: float, digits: int = 3) -> str:
    """"0.778 [0.770, 0.786]"; "-" for a missing value."""
    if value is None or np.isnan(value):
        return "-"
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"
