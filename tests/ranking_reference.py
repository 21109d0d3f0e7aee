"""The slow, obvious reference of the ranking: counts on a whole (float64) score matrix.
The tests check mixbatch.metrics.ranking's block-wise float32 counting against it."""

from __future__ import annotations

import numpy as np

from mixbatch.metrics.ranking import ranks_from_counts


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
    n_rel_ge = ((rel_scores[:, None, :] >= rel_scores[:, :, None]) & valid[:, None, :]).sum(axis=2)
    return ranks_from_counts(rel_scores, valid, n_at_or_above - n_rel_ge)
