"""The numbers behind the report: each run's headline metrics with intervals, and the
differences between runs with intervals and tests, from the per-question tables.

A run config (a `grid.runs` entry, or "zeroshot") has one per-question table per seed
(results/details/<run>-s<seed>/<dataset>/questions.parquet, mixbatch.metrics.questions);
its value is the mean over seeds. Intervals come from mixbatch.report.stats: a two-level
bootstrap that resamples xling_ids (a question's translations are not independent) and
seeds; differences get a paired randomisation test at the xling_id level. Language
groups (seen / unseen in training) restrict the rows to those question languages.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from mixbatch import grid, paths
from mixbatch.errors import MixbatchError
from mixbatch.report import stats

GROUPS = ("all", "seen", "unseen")


@dataclass
class Settings:
    """How the report resamples: params `report` plus `seed`."""

    n_resamples: int
    confidence: float
    seed: int
    n_permutations: int = 9999  # p's floor 1/10,000 keeps a Holm family of ~100 decidable

    @classmethod
    def from_params(cls, params: dict) -> "Settings":
        return cls(params["report"]["bootstrap_resamples"], params["report"]["confidence"], params["seed"])


def load_question_tables(details_root: Path, params: dict, dataset: str) -> dict[str, list[pd.DataFrame]]:
    """{run config: its seeds' per-question tables} for the configs whose every seed was scored."""
    out = {}
    for config, runs in grid.by_config(params).items():
        files = [Path(details_root) / paths.RUN_DATASET.format(run=r.name, dataset=dataset) / "questions.parquet"
                 for r in runs]
        if all(f.exists() for f in files):
            out[config] = [pd.read_parquet(f) for f in files]
    return out


def in_group(tables: list[pd.DataFrame], group: str, seen: list[str]) -> list[pd.DataFrame]:
    """The rows of question languages in a group: all, seen (trained on) or unseen."""
    if group == "all":
        return tables
    # numpy, not the Arrow-backed column: isin over Arrow strings iterates in Python
    chosen = [t[np.isin(t["q_lang"].to_numpy(dtype=object), seen) == (group == "seen")] for t in tables]
    if chosen[0].empty:
        raise MixbatchError(f"no questions in {group} languages (training languages: {' '.join(seen)})")
    return chosen


def groups_present(tables: list[pd.DataFrame], seen: list[str]) -> list[str]:
    """"all", plus "seen" and "unseen" where the questions have languages of both kinds."""
    langs = set(tables[0]["q_lang"].unique())
    return ["all", "seen", "unseen"] if langs & set(seen) and langs - set(seen) else ["all"]


def paired_runs(tables: dict[str, list[pd.DataFrame]], specs: list, settings: Settings,
                seen: list[str] | None = None, group: str = "all") -> stats.PairedRuns:
    """Every run config's seed tables (restricted to the group's question languages),
    resampled together: the same draws serve each run's intervals and every comparison."""
    return stats.PairedRuns({config: in_group(seed_tables, group, seen or []) for config, seed_tables in tables.items()},
                            specs, settings.n_resamples, settings.seed, settings.confidence, settings.n_permutations)


def run_values(runs: stats.PairedRuns, group: str = "all") -> pd.DataFrame:
    """Long table: run, metric, value, ci_low, ci_high, n_seeds, group (one row per run x metric)."""
    return pd.concat([runs.values(config).assign(run=config, n_seeds=runs.n_seeds(config), group=group)
                      for config in runs.runs], ignore_index=True)


def compare_runs(runs: stats.PairedRuns, pairs: list[tuple[str, str]], metrics: list[str],
                 group: str = "all") -> pd.DataFrame:
    """Long table: a, b (run configs), group, metric, value_a, value_b, diff, ci_low, ci_high, p_value."""
    frame = runs.compare(pairs, metrics).assign(group=group)
    return frame[["a", "b", "group", "metric", "value_a", "value_b", "diff", "ci_low", "ci_high", "p_value"]]


def all_pairs(tables: dict[str, list[pd.DataFrame]]) -> list[tuple[str, str]]:
    return list(combinations(tables, 2))
