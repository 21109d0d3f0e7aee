"""Collect per-run metrics JSON files into tables (pandas DataFrames), one row per run.

In: a metrics folder laid out as <metrics>/<run>/<dataset>.json (`mixbatch score`), the
runs (mixbatch.grid.expand_runs) and the evaluation data sets. A missing file is a
missing row, reported by the caller, never an invented number.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mixbatch.errors import MixbatchError
from mixbatch.report.paper import SAMPLING_LABEL



def load_metrics(metrics_dir: Path, runs: list[str], datasets: list[str]) -> dict[str, dict[str, dict]]:
    """{run: {dataset: metrics}} for every file that exists."""
    out: dict[str, dict[str, dict]] = {}
    for run in runs:
        for dataset in datasets:
            path = metrics_dir / run / f"{dataset}.json"
            if path.exists():
                try:
                    out.setdefault(run, {})[dataset] = json.loads(path.read_text(encoding="utf-8"))
                except json.JSONDecodeError as e:
                    raise MixbatchError(f"{path}: not valid JSON ({e})") from None
    return out


def _scored(metrics: dict, runs: dict[str, dict], dataset: str):
    """(run, its config, its metrics on `dataset`) for the runs that have them, in run order."""
    for run, cfg in runs.items():
        m = metrics.get(run, {}).get(dataset)
        if m is not None:
            yield run, cfg, m


def _run_columns(run: str, cfg: dict) -> dict:
    alpha = cfg.get("alpha") if cfg["sampling"] == "hybrid" else None
    return {"run": run, "sampling": SAMPLING_LABEL.get(cfg["sampling"], cfg["sampling"]), "alpha": alpha}


def lareqa_table(metrics: dict, runs: dict[str, dict], dataset: str) -> pd.DataFrame:
    """Table 1 + Table 2 layout: Mo./Cr./Mul. mAP, Mul. mAP@20, R@1, R@10, rank distance."""
    rows = []
    for run, cfg, m in _scored(metrics, runs, dataset):
        mul = m.get("mul", {})
        rows.append({
            **_run_columns(run, cfg),
            "mo_map": m.get("mo", {}).get("map"), "cr_map": m.get("cr", {}).get("map"), "mul_map": mul.get("map"),
            "mul_map@20": mul.get("map@20"), "mul_r@1": mul.get("r@1"), "mul_r@10": mul.get("r@10"),
            "rank_distance": mul.get("rank_distance"),
        })
    return pd.DataFrame(rows)


def per_lang_table(metrics: dict, runs: dict[str, dict], dataset: str, key: str = "mul_map") -> pd.DataFrame:
    """Languages x runs of one per-language metric (e.g. Mul. mAP by question language)."""
    cols = {run: {lang: v.get(key) for lang, v in m.get("per_lang", {}).items()}
            for run, _, m in _scored(metrics, runs, dataset)}
    return pd.DataFrame(cols)


def seen_unseen_table(metrics: dict, runs: dict[str, dict], dataset: str, seen: list[str]) -> pd.DataFrame:
    """Macro means over seen (trained-on) and unseen question languages, per run."""
    rows = []
    for run, cfg, m in _scored(metrics, runs, dataset):
        per_lang = m.get("per_lang", {})
        row = _run_columns(run, cfg)
        for group, langs in (("seen", [l for l in per_lang if l in seen]), ("unseen", [l for l in per_lang if l not in seen])):
            for key in ("mo_map", "cr_map", "mul_map"):
                values = [per_lang[l][key] for l in langs if per_lang[l].get(key) is not None]
                row[f"{group}_{key}"] = float(np.mean(values)) if values else None
            row[f"{group}_languages"] = " ".join(sorted(langs))
        rows.append(row)
    return pd.DataFrame(rows)


def tatoeba_table(metrics: dict, runs: dict[str, dict]) -> pd.DataFrame:
    rows = []
    for run, cfg, m in _scored(metrics, runs, "tatoeba"):
        xr, everything = m.get("mean_xtreme_r", {}), m.get("mean_all", {})
        rows.append({
            **_run_columns(run, cfg),
            "acc_mean_xtreme_r": xr.get("mean"), "xx->en": xr.get("xx->en"), "en->xx": xr.get("en->xx"),
            "n_languages_xtreme_r": xr.get("n_languages"),
            "acc_mean_all": everything.get("mean"), "n_languages": everything.get("n_languages"),
        })
    return pd.DataFrame(rows)


def miracl_table(metrics: dict, runs: dict[str, dict]) -> pd.DataFrame:
    rows = []
    for run, cfg, m in _scored(metrics, runs, "miracl"):
        rows.append({**_run_columns(run, cfg), "status": m.get("status", "scored"),
                     "nDCG@10": m.get("nDCG@10"), "R@100": m.get("R@100")})
    return pd.DataFrame(rows)


def read_train_logs(train_dir: Path, runs: list[str]) -> dict[str, pd.DataFrame]:
    """{run: its training log} for the runs that trained (the log has rows)."""
    logs = {}
    for run in runs:
        path = train_dir / run / "log.csv"
        if path.exists():
            df = pd.read_csv(path)
            if len(df):
                logs[run] = df
    return logs
