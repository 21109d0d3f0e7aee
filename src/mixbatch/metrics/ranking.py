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

Ranks are computed by counting, not from a truncated top-k: for each relevant candidate,
how many candidates score at least as high. nonrelevant_counts (used by lareqa.rank_all)
counts the float64 scores of exact_dots from a float32 score matrix plus a proven error
bound, recomputing in float64 only the candidates too close to call, so its counts (ties
included) are exactly those of the float64 scores. (tests/ranking_reference.py counts
on a whole score matrix: the slow reference the tests compare with.)
"""

from __future__ import annotations

import numpy as np

from mixbatch.metrics.kernels import count_block, pair_dots


def _relevant_ge_gt(rel_scores, valid, group=None):
    """[b, i]: how many real relevant j (in i's group, if given) score >= / > relevant i."""
    other = valid[:, None, :]
    if group is not None:
        other = other & (group[:, None, :] == group[:, :, None])
    theirs, own = rel_scores[:, None, :], rel_scores[:, :, None]
    return ((theirs >= own) & other).sum(axis=2), ((theirs > own) & other).sum(axis=2)


def ranks_from_counts(rel_scores, valid, n_nonrel_ge, group=None) -> tuple[np.ndarray, np.ndarray]:
    """(rank, precision) as in the module docstring, from each relevant candidate's score
    and its count of NON-relevant candidates scoring >= it. With group (B, R), only the
    relevant candidates of the same group count (the per-language pools)."""
    n_rel_ge, n_rel_gt = _relevant_ge_gt(rel_scores, valid, group)
    precision = np.where(valid, n_rel_ge / np.maximum(n_nonrel_ge + n_rel_ge, 1), 0.0)
    rank = np.where(valid, n_nonrel_ge + n_rel_gt + 1, 0)
    return rank, precision


def per_question_metrics(
    rank: np.ndarray, precision: np.ndarray, map_k: int = 20, recall_ks: tuple[int, ...] = (1, 10)
) -> dict[str, np.ndarray]:
    """Per-question metrics from the (Q, R) rank and precision arrays of ranks_from_counts.

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



# --- Exact counts from a float32 score matrix -------------------------------------------
# A float32 GEMM is ~2x faster than float64 but off by up to a proven bound eps. A
# candidate whose float32 score is more than eps above (below) a relevant candidate's
# float64 score is surely above (below) it in float64 too; only the few inside that band
# get their float64 score computed. The counts are therefore exactly the float64 ones.


def as_float_vectors(x: np.ndarray) -> np.ndarray:
    """Vectors as a C-contiguous array of a dtype exact_dots takes: float32 (kept, or
    float16 widened) or float64 (anything else). Widening is exact, so the scores are
    those of the values given."""
    x = np.asarray(x)
    return np.ascontiguousarray(x, dtype=np.float32 if x.dtype in (np.float16, np.float32) else np.float64)


def exact_dots(a: np.ndarray, b: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """float64 inner products <a[rows[i]], b[cols[i]]>: THE float64 score. Each pair is
    summed in one fixed order wherever and with whatever else it is asked for
    (kernels.pair_dots), so equal vectors tie exactly."""
    a, b = as_float_vectors(a), as_float_vectors(b)
    rows, cols = np.broadcast_arrays(np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))
    if a.shape[1:] != b.shape[1:] or a.ndim != 2:
        raise ValueError(f"vectors of shapes {a.shape} and {b.shape} have no row-wise inner product")
    return pair_dots(a, b, np.ascontiguousarray(rows).ravel(), np.ascontiguousarray(cols).ravel()).reshape(rows.shape)


def relevant_scores(questions: np.ndarray, pool: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """(Q, R) float64 scores (exact_dots) of each question's relevant candidates, -inf
    for padding (-1)."""
    rows = np.broadcast_to(np.arange(len(relevant))[:, None], relevant.shape)
    out = exact_dots(questions, pool, rows, np.maximum(relevant, 0))
    return np.where(relevant >= 0, out, -np.inf)


def float32_error_bound(dim: int, q_norms: np.ndarray, c_norm_max: float) -> np.ndarray:
    """Per question, eps >= |float32 score - float64 score| for every candidate: the
    float32 score is the inner product of q and c rounded to float32, computed in float32
    (any summation order, FMA or not), the float64 one that of exact_dots. Higham's
    bound |fl(x.y) - x.y| <= gamma_n sum|x_i y_i| <= gamma_n |x| |y|, gamma_n = n u/(1 - n u),
    with n = dim + 2 (both inputs rounded) for float32 plus gamma_dim for float64; x 1.01
    covers the rounding of the norms and of t +- eps; the absolute term, underflow.
    Assumes norms well inside float32's range (rank_all checks)."""

    def gamma(n, u):
        return n * u / (1 - n * u)

    rel = gamma(dim + 2, 2.0**-24) + gamma(dim, 2.0**-53)
    tiny = 4 * (dim + 2) * 2.0**-149 * (1 + q_norms) * (1 + c_norm_max)
    return 1.01 * rel * q_norms * c_norm_max + tiny


def _float32_out(x: np.ndarray, up: bool) -> np.ndarray:
    """x (float64) as float32 rounded towards +inf (up) or -inf, so the band only widens."""
    y = x.astype(np.float32)
    wrong = (y < x) if up else (y > x)
    y[wrong] = np.nextafter(y[wrong], np.float32(np.inf if up else -np.inf))
    return y


def nonrelevant_counts(approx, eps, relevant, rel_exact, exact, group=None, cand_group=None):
    """(B, R) counts of NON-relevant candidates whose float64 score is >= each relevant
    candidate's float64 score, from float32 scores.

    approx: (B, N) float32 scores, |approx - float64 score| <= eps[b]; the relevant
    entries are overwritten. relevant: (B, R) pool indices, -1 = padding. rel_exact:
    (B, R) float64 scores of the relevant candidates. exact(rows, cols): float64 scores
    of (block row, pool index) pairs, asked once per pair. With group (B, R) and
    cand_group (N,) (small ints, sorted: each group a contiguous run of columns), also
    the counts over the candidates of each relevant candidate's own group; else None.
    How: kernels.count_block settles every candidate outside the band [t - eps,
    t + eps] of each threshold t in one compiled pass; the few inside are decided by
    their float64 score.
    """
    b_size, n = approx.shape
    valid = relevant >= 0
    approx[np.nonzero(valid)[0], relevant[valid]] = -np.inf
    t = np.where(valid, rel_exact, np.inf)
    lo, hi = _float32_out(t - eps[:, None], up=False), _float32_out(t + eps[:, None], up=True)
    if group is None:
        cand_group, group_starts = np.zeros(n, dtype=np.int64), np.array([0, n])
    else:
        cand_group = np.asarray(cand_group, dtype=np.int64)
        if (np.diff(cand_group) < 0).any():
            raise ValueError("cand_group must be sorted: each group a contiguous run of columns")
        group_starts = np.searchsorted(cand_group, np.arange(int(cand_group.max(initial=0)) + 2))
    counts, band_row, band_col, band_k = count_block(approx, lo, hi, group_starts)
    if len(band_row):
        pair, inverse = np.unique(band_row * n + band_col, return_inverse=True)
        hit = exact(pair // n, pair % n)[inverse] >= t[band_row, band_k]
        np.add.at(counts, (band_row[hit], cand_group[band_col[hit]], band_k[hit]), 1)
    same = None
    if group is not None:
        same = np.take_along_axis(counts, group[:, None, :], axis=1)[:, 0, :]
    return counts.sum(axis=1), same
