"""The experiment grid: which runs exist, and which model folder each one evaluates.

A run is a name with a batch sampling (params `runs`: none | xx | xy | hybrid, and alpha
for hybrid). `sweep.alphas` adds one hybrid run per alpha, named `hybrid-a<alpha>`, so an
alpha sweep is one param change. A run with sampling "none" (zeroshot) is the untrained
base model: its shards folder holds no batches and its model folder is a copy of the
base model, so every run has the same stages (DVC's matrix over `runs` needs that).
"""

from __future__ import annotations

from mixbatch.errors import MixbatchError

def sweep_run_name(alpha: float) -> str:
    return f"hybrid-a{alpha:g}"


def expand_runs(params: dict) -> dict[str, dict]:
    """All runs, in order: params `runs`, then one hybrid run per `sweep.alphas` entry."""
    runs = {name: dict(run) for name, run in params["runs"].items()}
    if "base" in runs:  # data/models/base is the untrained encoder's folder
        raise MixbatchError("params: `runs` may not name a run 'base' (the base model's folder); rename it")
    for alpha in params.get("sweep", {}).get("alphas", []):
        name = sweep_run_name(alpha)
        if name in runs:
            raise MixbatchError(f"params: sweep.alphas entry {alpha} gives run {name!r}, which `runs` already names")
        runs[name] = {"sampling": "hybrid", "alpha": float(alpha)}
    return runs


def run_config(params: dict, run: str) -> dict:
    runs = expand_runs(params)
    if run not in runs:
        raise MixbatchError(f"run {run!r} is not in params `runs` or `sweep.alphas`; known: {', '.join(runs)}")
    return runs[run]


def trained_runs(params: dict) -> list[str]:
    return [name for name, run in expand_runs(params).items() if run["sampling"] != "none"]


def workflow_targets(params: dict) -> list[str]:
    """What `snakemake all` builds: every `data.datasets` entry aligned, every run's
    metrics and candidate index on every `encode.datasets` entry, and the report."""
    runs, datasets = list(expand_runs(params)), params["encode"]["datasets"]
    out = [f"data/aligned/{d}" for d in params["data"]["datasets"]]
    out += [f"results/metrics/{run}/{d}.json" for run in runs for d in datasets]
    out += [f"results/index/{run}/{d}" for run in runs for d in datasets]
    return out + ["results/report.md"]
