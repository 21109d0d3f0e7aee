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
    chosen = [t[t["q_lang"].isin(seen) == (group == "seen")] for t in tables]
    if chosen[0].empty:
        raise MixbatchError(f"no questions in {group} languages (training languages: {' '.join(seen)})")
    return chosen


def groups_present(tables: list[pd.DataFrame], seen: list[str]) -> list[str]:
    """"all", plus "seen" and "unseen" where the questions have languages of both kinds."""
    langs = set(tables[0]["q_lang"])
    return ["all", "seen", "unseen"] if langs & set(seen) and langs - set(seen) else ["all"]


def run_values(tables: dict[str, list[pd.DataFrame]], specs: list, settings: Settings,
               seen: list[str] | None = None, group: str = "all") -> pd.DataFrame:
    """Long table: run, metric, value, ci_low, ci_high, n_seeds (one row per run x metric)."""
    rows = []
    for i, (config, seed_tables) in enumerate(tables.items()):
        chosen = in_group(seed_tables, group, seen or [])
        frame = stats.run_intervals(chosen, specs, settings.n_resamples, settings.seed + i, settings.confidence)
        rows.append(frame.assign(run=config, n_seeds=len(seed_tables), group=group))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def compare_runs(tables: dict[str, list[pd.DataFrame]], pairs: list[tuple[str, str]], specs: list,
                 settings: Settings, seen: list[str] | None = None, group: str = "all") -> pd.DataFrame:
    """Long table: a, b (run configs), group, metric, value_a, value_b, diff, ci_low, ci_high, p_value."""
    rows = []
    for i, (a, b) in enumerate(pairs):
        frame = stats.compare(in_group(tables[a], group, seen or []), in_group(tables[b], group, seen or []), specs,
                              settings.n_resamples, settings.seed + 1000 + i, settings.confidence, settings.n_permutations)
        rows.append(frame.rename(columns={"a": "value_a", "b": "value_b"}).assign(a=a, b=b, group=group))
    columns = ["a", "b", "group", "metric", "value_a", "value_b", "diff", "ci_low", "ci_high", "p_value"]
    return pd.concat(rows, ignore_index=True)[columns] if rows else pd.DataFrame(columns=columns)


def all_pairs(tables: dict[str, list[pd.DataFrame]]) -> list[tuple[str, str]]:
    return list(combinations(tables, 2))
