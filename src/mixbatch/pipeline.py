"""The one table of which params each stage reads, shared by both front doors.

Snakemake rules pass `tracked_params(config, stage, ...)` as a rule param (so a change
reruns the rule); dvc.yaml lists the same keys under each stage's `params:`, and
tests/test_front_doors.py fails when the two disagree. `{run}` stands for the run name.
"""

from __future__ import annotations

from typing import Any

from mixbatch.errors import MixbatchError
from mixbatch.grid import expand_runs

STAGE_PARAMS: dict[str, list[str]] = {
    "download": ["data"],
    "align": ["data"],
    "split": ["seed", "split"],
    "shards": ["seed", "split.datasets", "shards", "runs.{run}"],
    "prepare-model": ["model.name"],
    "train": ["seed", "model", "train"],
    "encode": ["model", "encode"],
    "index": ["seed", "index"],
    "score": ["seed", "score", "encode.tatoeba_languages"],
    "report": ["seed", "runs", "sweep", "shards.languages", "encode.datasets"],
}


def _lookup(config: dict, dotted: str) -> Any:
    if dotted.startswith("runs."):  # a run's settings, sweep runs included
        return expand_runs(config)[dotted.split(".", 1)[1]]
    value: Any = config
    for key in dotted.split("."):
        value = value[key]
    return value


def tracked_params(config: dict, stage: str, run: str | None = None) -> dict[str, Any]:
    """{dotted key: value} of the params `stage` reads, for Snakemake's params rerun trigger."""
    if stage not in STAGE_PARAMS:
        raise MixbatchError(f"unknown stage {stage!r}; known: {', '.join(STAGE_PARAMS)}")
    return {key: _lookup(config, key) for key in (k.format(run=run) for k in STAGE_PARAMS[stage])}
