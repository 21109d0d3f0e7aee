"""Exact ranks of relevant candidates over a full candidate pool, and the per-question
metrics built on them.

Tie conventions (exact ties are rare with float embeddings; these make them well defined):
- precision, for AP: precision of relevant candidate r = ``#{relevant c: s(c) >= s(r)} /
  #{c: s(c) >= s(r)}``, i.e. a tied group is one threshold whose precision is taken at
  its end. This is exactly sklearn's ``average_precision_score``, so the full-ranking AP
  here equals sklearn's also when scores tie.
- rank, for r@k, recall@k, AP@k and the rank distance: ties are resolved against the
  relevant candidate where the other candidate is non-relevant, and in its favour where
  the other is relevant: ``rank(r) = 1 + #{non-relevant c: s(c) >= s(r)} +
  #{relevant c: s(c) > s(r)}``. Without ties both reduce to the usual 1-based rank.

Ranks are computed by counting, not sorting: for each relevant candidate, how many
candidates score at least as high. That needs no truncated top-k and costs one
comparison per (relevant candidate, pool candidate).
"""

from __future__ import annotations

import numpy as np


def pad_relevant(relevant: list[np.ndarray]) -> np.ndarray:
    """Pack per-question lists of relevant pool indices into a (Q, R_max) array, -1 padded."""
    width = max((len(r) for r in relevant), default=0)
    out = np.full((len(relevant), max(width, 1)), -1, dtype=np.int64)
    for i, r in enumerate(relevant):
        out[i, : len(r)] = r
    return out


def count_at_or_above(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """(B, R) counts of row b's scores >= thresholds[b, r] (+inf thresholds count 0).

    Only candidates at or above a row's lowest threshold can count, so these are pulled
    out first (one pass); with a trained model the relevant candidates rank high and
    this leaves a small fraction of the pool. Where it does not (random vectors), one
    pass per threshold over the whole block is cheaper.
    """
    lowest = thresholds.min(axis=1, keepdims=True)
    above = scores >= lowest
    per_row = np.count_nonzero(above, axis=1)
    counts = np.zeros(thresholds.shape, dtype=np.int64)
    if per_row.sum() * 4 > scores.size:
        for j in range(thresholds.shape[1]):
            counts[:, j] = np.count_nonzero(scores >= thresholds[:, j : j + 1], axis=1)
        return counts
    rows = np.flatnonzero(per_row)  # rows with nothing at or above count 0 everywhere
    values = scores[above]  # row-major: each row's values are contiguous
    starts = np.concatenate([[0], np.cumsum(per_row[rows])[:-1]])
    for j in range(thresholds.shape[1]):
        hits = values >= np.repeat(thresholds[rows, j], per_row[rows])
        counts[rows, j] = np.add.reduceat(hits, starts, dtype=np.int64) if len(rows) else 0
    return counts


def relevant_ranks(scores: np.ndarray, relevant: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank and precision of every relevant candidate, for a block of questions.

    scores: (B, N) similarity of each question to each pool candidate.
    relevant: (B, R) int64 pool indices of each question's relevant candidates, -1 = none.
    Returns (rank, precision), both (B, R), as defined in the module docstring (rank
    1-based); padding slots hold rank 0 and precision 0.
    """
    valid = relevant >= 0
    rel_scores = np.take_along_axis(scores, np.maximum(relevant, 0), axis=1)  # (B, R)
    n_at_or_above = count_at_or_above(scores, np.where(valid, rel_scores, np.inf))
    # [b, i, j]: relevant j (a real one, not padding) scores >= / > relevant i.
    other, own = rel_scores[:, None, :], rel_scores[:, :, None]
    n_rel_ge = ((other >= own) & valid[:, None, :]).sum(axis=2)
    n_rel_gt = ((other > own) & valid[:, None, :]).sum(axis=2)
    precision = np.where(valid, n_rel_ge / np.maximum(n_at_or_above, 1), 0.0)
    rank = np.where(valid, n_at_or_above - n_rel_ge + n_rel_gt + 1, 0)
    return rank, precision


def per_question_metrics(
    rank: np.ndarray, precision: np.ndarray, map_k: int = 20, recall_ks: tuple[int, ...] = (1, 10)
) -> dict[str, np.ndarray]:
    """Per-question metrics from the (Q, R) rank and precision arrays of relevant_ranks.

    Every question must have at least one relevant candidate (rank > 0 in column 0).
    - ap: average precision over the FULL ranking (sklearn's average_precision_score,
      the XTREME LAReQA reference): mean precision over all relevant candidates.
    - ap@k: XTREME-R's AP@k (utils_lareqa.average_precision_at_k): sum of the precisions
      of the relevant candidates ranked within the top k, divided by min(#relevant, k).
    - r@k: 1 if at least one relevant candidate is in the top k (success@k; with one
      relevant candidate, as in Mo. and Cr., this is recall@k).
    - recall@k: fraction of the relevant candidates in the top k.
    - rank_distance: rank of the lowest-ranked relevant candidate minus that of the
      highest-ranked one (Huang et al. 2023's maximum rank distance; 0 with one relevant).
    """
    valid = rank > 0
    n_rel = valid.sum(axis=1)
    if (n_rel == 0).any():
        raise ValueError("every question needs at least one relevant candidate")
    out = {"ap": precision.sum(axis=1) / n_rel}
    in_k = valid & (rank <= map_k)
    out[f"ap@{map_k}"] = (precision * in_k).sum(axis=1) / np.minimum(n_rel, map_k)
    best = np.where(valid, rank, np.iinfo(np.int64).max).min(axis=1)
    for k in recall_ks:
        out[f"r@{k}"] = (best <= k).astype(np.float64)
        out[f"recall@{k}"] = (valid & (rank <= k)).sum(axis=1) / n_rel
    out["rank_distance"] = (np.where(valid, rank, 0).max(axis=1) - best).astype(np.float64)
    out["n_relevant"] = n_rel
    return out

