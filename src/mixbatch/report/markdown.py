"""Render the report's tables as Markdown: ours first, the paper's beside them for reference."""

from __future__ import annotations

import pandas as pd

from mixbatch.report.paper import MIRACL, RANK_DISTANCE, TABLE1


def fmt_table(df: pd.DataFrame, digits: int = 3) -> str:
    """A Markdown table with numbers at `digits` decimals and '-' for missing values."""
    if df.empty:
        return "_no results yet_\n"
    shown = df.copy()
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]) or shown[col].map(lambda v: isinstance(v, float)).any():
            shown[col] = shown[col].map(lambda v: "-" if v is None or pd.isna(v) else f"{v:.{digits}f}")
    shown = shown.fillna("-")
    return shown.to_markdown(index=False, disable_numparse=True) + "\n"


def interval_table(values: pd.DataFrame, described: dict[str, dict], metrics: list[str],
                   digits: dict[str, int] | None = None) -> pd.DataFrame:
    """One row per run (run, sampling, alpha, seeds) and per metric "value [low, high]", from
    analysis.run_values' long table."""
    from mixbatch.report.collect import fmt_interval

    digits = digits or {}
    rows = []
    for run, frame in values.groupby("run", sort=False):
        by_metric = frame.set_index("metric")
        row = {**described[run], "seeds": int(frame["n_seeds"].iloc[0])}
        for m in metrics:
            if m in by_metric.index:
                r = by_metric.loc[m]
                row[m] = fmt_interval(r["value"], r["ci_low"], r["ci_high"], digits.get(m, 3))
        rows.append(row)
    return pd.DataFrame(rows)


def paper_table1(dataset: str) -> pd.DataFrame:
    rows = [{"model": m, "sampling": s, "mo_map": v[dataset][0], "cr_map": v[dataset][1], "mul_map": v[dataset][2]}
            for (m, s), v in TABLE1.items() if dataset in v]
    return pd.DataFrame(rows)


def paper_rank_distance(dataset: str) -> pd.DataFrame:
    return pd.DataFrame([{"model": m, "sampling": s, "rank_distance": v[dataset]}
                         for (m, s), v in RANK_DISTANCE.items() if dataset in v])


def paper_miracl() -> pd.DataFrame:
    return pd.DataFrame([{"model": m, "sampling": s, "nDCG@10": v[0], "R@100": v[1]}
                         for m, by_s in MIRACL.items() for s, v in by_s.items()])
