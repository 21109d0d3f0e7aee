"""Per-question LAReQA results: one row per (question, setting, candidate pool), so that a
comparison of two runs can resample questions and ids without re-scoring.

Columns: qid, xling_id, q_lang, setting ("mo" | "cr" | "mul"), c_lang (the candidate pool:
the question's own language for "mo", the other language Y for "cr", "*" for "mul"),
then the metrics of metrics.ranking.per_question_metrics: ap, ap@<map_k>, r@<k>,
recall@<k>, and rank_distance (on "mul" rows; NaN elsewhere). A question without an
answer in Y has no "cr" row for Y (it is skipped, as in the pair means).

The headline numbers are means of these rows: Mul. over all "mul" rows; Mo. the macro mean
over q_lang of the "mo" rows; Cr. the macro mean over (q_lang, c_lang) of the "cr" rows;
the rank distance the macro mean over q_lang of the "mul" rows (tests check that they
equal metrics.lareqa's summaries).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixbatch.metrics.lareqa import LareqaInputs
from mixbatch.metrics.ranking import per_question_metrics

MUL_POOL = "*"


def _rows(per_q: dict[str, np.ndarray], chosen: np.ndarray, ids: tuple, setting: np.ndarray, c_lang) -> pd.DataFrame:
    qids, xling_ids, q_lang = ids
    frame = pd.DataFrame({"qid": qids[chosen], "xling_id": xling_ids[chosen], "q_lang": q_lang[chosen],
                          "setting": setting, "c_lang": c_lang})
    for key, values in per_q.items():
        if key != "n_relevant":
            frame[key] = values.astype(np.float64)
    return frame


def per_question_table(inp: LareqaInputs, mul: tuple, per_y: dict, qids: list[str], xling_ids: list[str],
                       map_k: int = 20, recall_ks=(1, 10)) -> pd.DataFrame:
    """The rows described in the module docstring, from lareqa.rank_all's ranks."""
    ids = (np.asarray(qids, dtype=object), np.asarray(xling_ids, dtype=object), np.asarray(inp.question_lang, dtype=object))
    everyone = np.arange(len(inp.question_lang))
    parts = [_rows(per_question_metrics(mul[0], mul[1], map_k, tuple(recall_ks)), everyone, ids, "mul", MUL_POOL)]
    for y, (rank, prec) in sorted(per_y.items()):
        chosen = np.flatnonzero(rank[:, 0] > 0)  # questions with an answer in Y
        if len(chosen) == 0:
            continue
        per_q = per_question_metrics(rank[chosen], prec[chosen], map_k, tuple(recall_ks))
        per_q.pop("rank_distance")
        setting = np.where(ids[2][chosen] == y, "mo", "cr")
        parts.append(_rows(per_q, chosen, ids, setting, y))
    table = pd.concat(parts, ignore_index=True)
    order = table["setting"].map({"mo": 0, "cr": 1, "mul": 2})
    return table.assign(_o=order).sort_values(["_o", "q_lang", "c_lang", "qid"], kind="stable") \
        .drop(columns="_o").reset_index(drop=True)
