"""Flatten metrics from several result folders or DVC experiments into one table.

A result folder holds metrics/<run>/<dataset>.json (as results/ does); a DVC experiment
carries the same files in `dvc exp show --json`. Each becomes one row per (source, run)
with the headline numbers of every data set.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd

from mixbatch.errors import MixbatchError

# data set -> (column label, path into its metrics JSON)
HEADLINES = {
    "lareqa": [("mo_map", ("mo", "map")), ("cr_map", ("cr", "map")), ("mul_map", ("mul", "map")),
               ("mul_map@20", ("mul", "map@20")), ("rank_distance", ("mul", "rank_distance"))],
    "tatoeba": [("acc", ("mean", "mean"))],
    "miracl": [("nDCG@10", ("nDCG@10",)), ("R@100", ("R@100",))],
}


def _get(d: dict, path: tuple[str, ...]):
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def headline_row(per_dataset: dict[str, dict]) -> dict:
    row = {}
    for dataset, m in sorted(per_dataset.items()):
        kind = dataset if dataset in HEADLINES else "lareqa"
        for label, path in HEADLINES[kind]:
            row[f"{dataset} {label}"] = _get(m, path)
    return row


def from_folder(folder: Path) -> list[dict]:
    metrics_dir = folder / "metrics" if (folder / "metrics").is_dir() else folder
    if not metrics_dir.is_dir():
        raise MixbatchError(f"{folder}: not a results folder (expected {folder}/metrics/<run>/<dataset>.json)")
    rows = []
    for run_dir in sorted(p for p in metrics_dir.iterdir() if p.is_dir()):
        per_dataset = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(run_dir.glob("*.json"))}
        if per_dataset:
            rows.append({"source": str(folder), "run": run_dir.name, **headline_row(per_dataset)})
    if not rows:
        raise MixbatchError(f"{metrics_dir}: no metrics files found")
    return rows


def _metrics_by_run(files: dict) -> dict[str, dict[str, dict]]:
    """{run: {dataset: metrics}} from DVC's {path: {"data": metrics}} mapping."""
    out: dict[str, dict[str, dict]] = {}
    for path, entry in files.items():
        parts = Path(path).parts
        # entries without "data" are metrics that revision does not have (an "error")
        if len(parts) >= 3 and parts[-3] == "metrics" and path.endswith(".json") and "data" in entry:
            out.setdefault(parts[-2], {})[Path(path).stem] = entry["data"]
    return out


def from_dvc_experiments(repo: Path = Path(".")) -> list[dict]:
    """One row per (experiment, run) from `dvc exp show --json` (workspace and experiments)."""
    proc = subprocess.run(["dvc", "exp", "show", "--json"], cwd=repo, capture_output=True, text=True)
    if proc.returncode != 0:
        raise MixbatchError(f"`dvc exp show --json` failed in {repo}: {proc.stderr.strip()}")
    rows = []

    def visit(node: dict, label: str) -> None:
        data = node.get("data") or {}
        name = node.get("name") or data.get("name") or label
        for run, per_dataset in sorted(_metrics_by_run(data.get("metrics") or {}).items()):
            rows.append({"source": name, "run": run, **headline_row(per_dataset)})
        for child in node.get("experiments") or []:
            for exp in child.get("revs") or [child]:
                visit(exp, exp.get("rev", "exp")[:7])

    for top in json.loads(proc.stdout or "[]"):
        visit(top, top.get("rev", "workspace"))
    return rows


def compare(folders: list[Path], dvc_experiments: bool = False) -> pd.DataFrame:
    rows = [r for f in folders for r in from_folder(f)]
    if dvc_experiments:
        rows += from_dvc_experiments()
    if not rows:
        raise MixbatchError("nothing to compare: name result folders or pass --dvc-exps")
    return pd.DataFrame(rows)
