"""The paper's claims, decided from intervals and tests (never written by hand).

Each claim says one sampling beats others on one headline metric (PAPER.md, "The claims
to test"). Per evaluation set and language group it is:
- "supported" when, against every other run named, the difference favours the claimed
  run with its interval excluding 0 and its Holm-adjusted p below 1 - confidence;
- "contradicted" when against some run the difference significantly favours the other;
- "not decided" otherwise (or when a run it needs is not in the grid).
The Holm family is every comparison the claims use (all claims, data sets and groups).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mixbatch.report.stats import holm


@dataclass(frozen=True)
class Claim:
    text: str
    metric: str
    winner: str               # sampling that should win
    others: tuple[str, ...]   # samplings it should beat
    lower_is_better: bool = False


CLAIMS = (
    Claim("X-X is best monolingually (Mo. mAP)", "mo_map", "xx", ("xy", "hybrid")),
    Claim("X-Y is best cross-lingually (Cr. mAP)", "cr_map", "xy", ("xx", "hybrid")),
    Claim("Hybrid is best multilingually (Mul. mAP)", "mul_map", "hybrid", ("xx", "xy")),
    Claim("Hybrid is less language-biased than X-X (rank distance)", "rank_distance", "hybrid", ("xx",), True),
)


def run_for_sampling(runs: dict[str, dict], sampling: str) -> str | None:
    """The first `grid.runs` entry with this sampling (hybrid: alpha 0.5 preferred)."""
    matches = [name for name, cfg in runs.items() if cfg["sampling"] == sampling]
    if sampling == "hybrid":
        matches.sort(key=lambda name: runs[name].get("alpha", 0.5) != 0.5)
    return matches[0] if matches else None


def needed_pairs(runs: dict[str, dict]) -> list[tuple[str, str]]:
    """(claimed winner's run, other run) for every claim whose runs are all in the grid."""
    pairs = []
    for claim in CLAIMS:
        winner = run_for_sampling(runs, claim.winner)
        others = [run_for_sampling(runs, s) for s in claim.others]
        if winner and all(others):
            pairs += [(winner, o) for o in others if (winner, o) not in pairs]
    return pairs


def _verdict(rows: pd.DataFrame, claim: Claim, alpha: float) -> str:
    low, high = rows["ci_low"], rows["ci_high"]
    better, worse = (high < 0, low > 0) if claim.lower_is_better else (low > 0, high < 0)
    significant = rows["p_holm"] < alpha
    better, worse = better & significant, worse & significant
    if rows.empty:
        return "not decided"
    if worse.any():
        return "contradicted"
    return "supported" if better.all() else "not decided"


def decide(comparisons: pd.DataFrame, runs: dict[str, dict], confidence: float) -> pd.DataFrame:
    """One row per claim x data set x group: verdict and the evidence it rests on.

    comparisons: rows of analysis.compare_runs (plus a `dataset` column) for needed_pairs.
    """
    family = comparisons.copy()
    family["p_holm"] = holm(family["p_value"].to_numpy()) if len(family) else []
    out = []
    for claim in CLAIMS:
        winner = run_for_sampling(runs, claim.winner)
        others = [run_for_sampling(runs, s) for s in claim.others]
        for (dataset, group), rows in family.groupby(["dataset", "group"], sort=False):
            if not winner or not all(others):
                out.append({"claim": claim.text, "dataset": dataset, "group": group, "verdict": "not decided",
                            "evidence": "a run it needs is not in the grid"})
                continue
            chosen = rows[(rows["metric"] == claim.metric) & (rows["a"] == winner) & rows["b"].isin(others)]
            evidence = "; ".join(f"{r.a} - {r.b}: {r.diff:+.4f} [{r.ci_low:+.4f}, {r.ci_high:+.4f}], p_holm {r.p_holm:.4f}"
                                 for r in chosen.itertuples())
            out.append({"claim": claim.text, "dataset": dataset, "group": group,
                        "verdict": _verdict(chosen, claim, 1 - confidence), "evidence": evidence})
    return pd.DataFrame(out, columns=["claim", "dataset", "group", "verdict", "evidence"])
