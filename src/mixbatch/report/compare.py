"""Compare result folders or DVC experiments.

- Two result folders (e.g. results/ and ../other-checkout/results/, one param apart):
  for every run config and LAReQA data set that both have, the difference B - A of each
  headline metric with its interval and a paired randomisation p-value (mixbatch.report
  .stats: xling_ids and seeds resampled), Holm-adjusted over every row. Needs both
  folders' details/<run>/<dataset>/questions.parquet.
- Headlines side by side: one row per (source, run) from each folder's
  metrics/<run>/<dataset>.json, or per DVC experiment from results/headline.json in
  `dvc exp show --json`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd

from mixbatch import paths
from mixbatch.errors import MixbatchError
from mixbatch.grid import parse_run_name
from mixbatch.report import stats


def _results_root(folder: Path, sub: str) -> Path:
    root = Path(folder) / sub
    if not root.is_dir():
        raise MixbatchError(f"{folder}: not a results folder (expected {root}/<run>/...)")
    return root


def question_tables(folder: Path) -> dict[tuple[str, str], list[pd.DataFrame]]:
    """{(run config, data set): seed tables} of a results folder, seeds in name order."""
    found: dict[tuple[str, str], list[tuple[int, Path]]] = {}
    for path in sorted(_results_root(folder, "details").glob("*/*/questions.parquet")):
        run = parse_run_name(path.parent.parent.name)
        found.setdefault((run.config, path.parent.name), []).append((run.seed or 0, path))
    return {key: [pd.read_parquet(p) for _, p in sorted(items)] for key, items in found.items()}


def compare_folders(a: Path, b: Path, n_resamples: int = 2000, seed: int = 0, confidence: float = 0.95) -> pd.DataFrame:
    """Rows: run, dataset, metric, a, b, diff (b - a), ci_low, ci_high, p_value, p_holm."""
    tables_a, tables_b = question_tables(a), question_tables(b)
    common = [key for key in tables_a if key in tables_b]
    if not common:
        raise MixbatchError(f"{a} and {b} have no run and data set in common with per-question results "
                            f"(details/<run>/<dataset>/questions.parquet)")
    frames = []
    for i, (config, dataset) in enumerate(common):
        frame = stats.compare(tables_b[(config, dataset)], tables_a[(config, dataset)],
                              stats.specs_of_columns(tables_a[(config, dataset)][0].columns), n_resamples, seed + i,
                              confidence)
        frames.append(frame.rename(columns={"a": "b_value", "b": "a_value"}).assign(run=config, dataset=dataset))
    table = stats.add_holm(pd.concat(frames, ignore_index=True))
    return table.rename(columns={"a_value": "a", "b_value": "b"})[
        ["run", "dataset", "metric", "a", "b", "diff", "ci_low", "ci_high", "p_value", "p_holm"]]


def headlines_of_folder(folder: Path) -> list[dict]:
    rows = []
    for run_dir in sorted(p for p in _results_root(folder, "metrics").iterdir() if p.is_dir()):
        row = {"source": str(folder), "run": run_dir.name}
        for f in sorted(run_dir.glob("*.json")):
            row.update({f"{f.stem} {k}": v for k, v in json.loads(f.read_text(encoding="utf-8")).items()
                        if isinstance(v, (int, float))})
        rows.append(row)
    if not rows:
        raise MixbatchError(f"{folder}/metrics: no metrics files found")
    return rows


def _headline_rows(source: str, headline: dict) -> list[dict]:
    """Rows per run config from a headline.json document (mixbatch.report.headline)."""
    runs: dict[str, dict] = {}
    for metric, by_run in headline.items():
        if isinstance(by_run, dict) and metric != "ci":
            for run, value in by_run.items():
                if isinstance(value, (int, float)):
                    runs.setdefault(run, {})[metric] = value
    return [{"source": source, "run": run, **values} for run, values in runs.items()]


def headlines_of_dvc_experiments(repo: Path = Path(".")) -> list[dict]:
    """One row per (experiment, run config) from results/headline.json in `dvc exp show --json`."""
    proc = subprocess.run(["dvc", "exp", "show", "--json"], cwd=repo, capture_output=True, text=True)
    if proc.returncode != 0:
        raise MixbatchError(f"`dvc exp show --json` failed in {repo}: {proc.stderr.strip()}")
    rows = []

    def visit(node: dict, label: str) -> None:
        data = node.get("data") or {}
        name = node.get("name") or data.get("name") or label
        entry = (data.get("metrics") or {}).get(paths.HEADLINE, {})
        if "data" in entry:  # an entry without "data" is a metrics file that revision lacks
            rows.extend(_headline_rows(name, entry["data"]))
        for child in node.get("experiments") or []:
            for exp in child.get("revs") or [child]:
                visit(exp, exp.get("rev", "exp")[:7])

    for top in json.loads(proc.stdout or "[]"):
        visit(top, top.get("rev", "workspace"))
    return rows


def headlines(folders: list[Path], dvc_experiments: bool = False) -> pd.DataFrame:
    rows = [r for f in folders for r in headlines_of_folder(f)]
    if dvc_experiments:
        rows += headlines_of_dvc_experiments()
    if not rows:
        raise MixbatchError("nothing to compare: name result folders or pass --dvc-exps")
    return pd.DataFrame(rows)
