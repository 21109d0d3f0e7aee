"""MIRACL dev scoring: nDCG@10 and Recall@100 with trec_eval semantics, through ir_measures
(pytrec_eval underneath).

trec_eval semantics (pyserini's `-c`): the mean is over EVERY judged query of the qrels;
a query the run has no hits for scores 0. ir_measures alone would average only over the
queries present in the run (beir's pitfall), so per-query values are taken from it and
the mean is taken here over all judged queries. nDCG uses the graded relevance as gain
(trec_eval's ndcg_cut); Recall@100 counts relevance > 0 as relevant.

Inputs: qrels rows (qid, docid, relevance) and a run {qid: {docid: score}}; the run is not
modified.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MEASURES = ("nDCG@10", "R@100")


def score_run(qrels: pd.DataFrame, run: dict[str, dict[str, float]]) -> dict:
    """{"nDCG@10", "R@100", "n_queries", "n_queries_without_hits"} over all judged queries."""
    import ir_measures

    judged = qrels[qrels["relevance"] > 0]["qid"].unique()
    if len(judged) == 0:
        raise ValueError("no judged queries with a relevant document")
    qrels_in = [ir_measures.Qrel(str(r.qid), str(r.docid), int(r.relevance)) for r in qrels.itertuples()]
    run_in = [ir_measures.ScoredDoc(str(q), str(d), float(s)) for q, docs in run.items() for d, s in docs.items()]
    measures = [ir_measures.parse_measure(m) for m in MEASURES]
    per_query = {str(m): {} for m in measures}
    for metric in ir_measures.iter_calc(measures, qrels_in, run_in):
        per_query[str(metric.measure)][metric.query_id] = metric.value
    out = {}
    for m in measures:
        values = [per_query[str(m)].get(str(q), 0.0) for q in judged]
        out[str(m)] = float(np.mean(values))
    out["n_queries"] = int(len(judged))
    out["n_queries_without_hits"] = int(sum(str(q) not in run or not run[str(q)] for q in judged))
    return out


def run_from_topk(qids: list[str], docids: list[str], top_idx: np.ndarray, top_scores: np.ndarray) -> dict:
    """A run dict from a search result: top_idx (Q, k) rows into docids, -1 = no hit."""
    run = {}
    for q, idx, sc in zip(qids, top_idx, top_scores):
        run[q] = {docids[i]: float(s) for i, s in zip(idx, sc) if i >= 0}
    return run
