"""results/headline.json: every run's headline numbers, shaped for `dvc exp show`.

DVC names a column by the key path inside the file (and the file's path only when several
metrics files are declared), and a terminal shows the first columns. So this one file
is the pipeline's only DVC `metrics` file, keyed metric -> run config (mean over seeds),
and the first LAReQA evaluation set (XQuAD-R, the test set, by default) sits at the top
level with Mul. mAP first: `dvc exp show` at 160 columns then shows "mul_map.zeroshot",
"mul_map.xx", ... for every run. Its intervals follow under "ci"; the other evaluation
sets under their own names. Per-seed numbers stay in results/metrics/<run>/<dataset>.json.
"""

from __future__ import annotations

import pandas as pd

from mixbatch.data.datasets import kind

FIRST = ("mul_map", "mo_map", "cr_map")


def _lareqa_block(values: pd.DataFrame) -> dict:
    metrics = list(dict.fromkeys(FIRST + tuple(values["metric"])))
    block = {m: {r.run: round(r.value, 6) for r in values[values["metric"] == m].itertuples()} for m in metrics}
    block["ci"] = {m: {r.run: {"lo": round(r.ci_low, 6), "hi": round(r.ci_high, 6)}
                       for r in values[values["metric"] == m].itertuples()} for m in metrics}
    return block


def headline(values: dict[str, pd.DataFrame | None]) -> dict:
    """values: per evaluation set, the report's table (LAReQA: run, metric, value, ci_low,
    ci_high; Tatoeba: run, acc, ...). Returns the JSON document."""
    out: dict = {}
    primary = next((d for d, v in values.items() if kind(d) == "lareqa" and v is not None and len(v)), None)
    if primary is not None:
        out.update(_lareqa_block(values[primary]))
        out["dataset"] = primary
    for dataset, frame in values.items():
        if dataset == primary or frame is None or not len(frame):
            continue
        if kind(dataset) == "lareqa":
            out[dataset] = _lareqa_block(frame)
        elif kind(dataset) == "tatoeba":
            out[dataset] = {"acc": {r.run: round(r.acc, 6) for r in frame.itertuples()}}
    return out
