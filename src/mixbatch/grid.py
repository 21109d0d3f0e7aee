"""The experiment grid: which runs exist and which data sets each is evaluated on.

A trained run is one entry of params `grid.runs` (a batch sampling) at one seed of
`grid.seeds`, named "<run>-s<seed>" (e.g. "hybrid-s13"); "zeroshot" is the untrained base
model (no seed axis, no shards, no training: it evaluates data/models/base). Every run is
evaluated on every `grid.datasets` entry. Both front doors build their stages from this.
"""

from __future__ import annotations

from dataclasses import dataclass

from mixbatch.data import datasets
from mixbatch.errors import MixbatchError

ZEROSHOT = "zeroshot"


@dataclass(frozen=True)
class Run:
    """One model to evaluate: a trained (config, seed) pair, or the zero-shot base model."""

    config: str          # the `grid.runs` key, or "zeroshot"
    seed: int | None     # None for the zero-shot run

    @property
    def name(self) -> str:
        return self.config if self.seed is None else f"{self.config}-s{self.seed}"

    @property
    def trained(self) -> bool:
        return self.seed is not None


def parse_run_name(name: str) -> Run:
    """Run("xx", 13) from "xx-s13"; Run("zeroshot", None) from "zeroshot" (or any name
    without a seed suffix)."""
    config, sep, seed = name.rpartition("-s")
    return Run(config, int(seed)) if sep and config and seed.isdigit() else Run(name, None)


def trained_runs(params: dict) -> list[Run]:
    """Every (run, seed) of the grid, runs in params order, seeds in params order."""
    if ZEROSHOT in params["grid"]["runs"]:
        raise MixbatchError(f"params: grid.runs may not name a run {ZEROSHOT!r} (the untrained model's name)")
    return [Run(config, seed) for config in params["grid"]["runs"] for seed in params["grid"]["seeds"]]


def all_runs(params: dict) -> list[Run]:
    """The zero-shot run (when grid.zeroshot) followed by every trained run."""
    return ([Run(ZEROSHOT, None)] if params["grid"]["zeroshot"] else []) + trained_runs(params)


def by_config(params: dict) -> dict[str, list[Run]]:
    """{run config: its runs, one per seed}, zero-shot first, then params order."""
    out: dict[str, list[Run]] = {}
    for run in all_runs(params):
        out.setdefault(run.config, []).append(run)
    return out


def find_run(params: dict, name: str) -> Run:
    """The run called `name` ("xx-s13", "zeroshot"); an error naming the known ones."""
    runs = {run.name: run for run in all_runs(params)}
    if name not in runs:
        raise MixbatchError(f"run {name!r} is not in the grid (params grid.runs x grid.seeds); known: {', '.join(runs)}")
    return runs[name]


def run_settings(params: dict, run: Run) -> dict:
    """The run's `grid.runs` entry ({"sampling": "none"} for the zero-shot run)."""
    return {"sampling": "none"} if not run.trained else dict(params["grid"]["runs"][run.config])


def source_datasets(params: dict) -> list[str]:
    """The data sets to download and align: the evaluation sets' sources and the training sets."""
    wanted = [datasets.source_of(d) for d in params["grid"]["datasets"]] + list(params["split"]["datasets"])
    return [d for d in datasets.SOURCES if d in wanted]
