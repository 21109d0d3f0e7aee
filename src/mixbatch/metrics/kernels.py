"""Compiled inner loops of the exact LAReQA ranking (metrics.ranking):

- count_block, behind ranking.nonrelevant_counts: one pass over a block of float32
  scores that sorts each candidate, per relevant candidate (threshold) of its row, into
  "surely above", "surely below" or "too close to call" (the band);
- pair_dots, behind ranking.exact_dots: the float64 score of given pairs.

Compiled with numba: the pass touches every (question, candidate) score once, and a
plain loop beats any numpy formulation (sorting, or one comparison pass per threshold)
several times over. `nogil` lets several blocks be counted at once from Python threads
(lareqa.rank_all); `cache` keeps the compiled code on disk, so only the first call on a
machine pays the compilation (a few seconds); later processes load it (about 0.3 s).
"""

from __future__ import annotations

import numba
import numpy as np


def count_block(approx, lo, hi, group_starts):
    """approx: (B, N) float32 scores (relevant candidates already -inf); lo, hi: (B, R)
    float32 band edges per threshold, +inf for padding; group_starts: (G + 1,) column
    offsets, candidate group g being columns group_starts[g]:group_starts[g + 1].
    Within a row, ordering the bands by lo must also order them by hi (as bands of one
    width do).

    Returns (above, band_row, band_col, band_k):
    - above[b, g, k]: candidates of group g in row b with approx > hi[b, k];
    - the band: (row, column, threshold) of every candidate with
      lo[b, k] <= approx <= hi[b, k], grouped by row.
    """
    approx = np.ascontiguousarray(approx, dtype=np.float32)
    group_starts = np.ascontiguousarray(group_starts, dtype=np.int64)
    # the compiled loop does not check bounds: check the shapes it relies on here
    if np.shape(lo) != np.shape(hi) or np.ndim(lo) != 2 or len(lo) != len(approx):
        raise ValueError(f"band edges {np.shape(lo)} / {np.shape(hi)} do not match {approx.shape[0]} score rows")
    if group_starts[0] != 0 or group_starts[-1] != approx.shape[1] or (np.diff(group_starts) < 0).any():
        raise ValueError(f"group_starts must ascend from 0 to {approx.shape[1]}, got {group_starts.tolist()}")
    order = np.lexsort((hi, lo), axis=-1)
    lo_sorted = np.ascontiguousarray(np.take_along_axis(lo, order, axis=1), dtype=np.float32)
    hi_sorted = np.ascontiguousarray(np.take_along_axis(hi, order, axis=1), dtype=np.float32)
    if (hi_sorted[:, 1:] < hi_sorted[:, :-1]).any():
        raise ValueError("bands ordered by their lower edge must also be ordered by their upper edge")
    capacity = 16 * lo.size + 1024  # ample for real embeddings; a miss reruns exactly sized
    args = (approx, lo_sorted, hi_sorted, np.ascontiguousarray(order, dtype=np.int64), group_starts)
    above, band, n_band = _count(*args, capacity)
    if n_band > capacity:
        above, band, n_band = _count(*args, n_band)
    return above, band[0, :n_band], band[1, :n_band], band[2, :n_band]


@numba.njit(nogil=True, cache=True)
def _count(approx, lo, hi, order, group_starts, capacity):
    """count_block's pass, with room for `capacity` band members; returns (above,
    band (3, capacity): row, column, threshold, n_band), n_band counting past capacity.

    lo and hi ascend along each row; order[b, k] is the caller's index of threshold k.
    Per row: the candidates at or above the row's lowest band edge are copied out
    (branch-free, so no misprediction however many there are: about one in ten for a
    zero-shot model, fewer once trained). For each of those, with the row's thresholds
    in ascending order, n_above = how many it surely clears (hi < score) and n_reached
    = how many bands it reaches (lo <= score): both loops over the few copied values,
    which the compiler vectorises. It is surely above thresholds [0, n_above) and in
    the bands of [n_above, n_reached); a histogram of n_above per group, summed from
    the top, gives the counts."""
    n_rows, n_cols = approx.shape
    n_thr = lo.shape[1]
    n_groups = len(group_starts) - 1
    above = np.zeros((n_rows, n_groups, n_thr), dtype=np.int64)
    band = np.empty((3, capacity), dtype=np.int64)
    n_band = 0
    values = np.empty(n_cols, dtype=np.float32)
    columns = np.empty(n_cols, dtype=np.int64)
    n_above = np.empty(n_cols, dtype=np.int32)
    n_reached = np.empty(n_cols, dtype=np.int32)
    hist = np.empty((n_groups, n_thr + 1), dtype=np.int64)
    for b in range(n_rows):
        lo_b, hi_b = lo[b], hi[b]
        row = approx[b]
        n = 0
        for j in range(n_cols):
            values[n] = row[j]
            columns[n] = j
            n += row[j] >= lo_b[0]
        n_above[:n] = 0
        n_reached[:n] = 0
        for k in range(n_thr):
            top, bottom = hi_b[k], lo_b[k]
            for i in range(n):
                n_above[i] += values[i] > top
                n_reached[i] += values[i] >= bottom
        hist[:, :] = 0
        g = 0
        for i in range(n):  # columns ascend, so groups come in order
            while columns[i] >= group_starts[g + 1]:
                g += 1
            hist[g, n_above[i]] += 1
            for k in range(n_above[i], n_reached[i]):  # rare: in a band, float64 decides
                if n_band < capacity:
                    band[0, n_band] = b
                    band[1, n_band] = columns[i]
                    band[2, n_band] = order[b, k]
                n_band += 1
        for g in range(n_groups):
            running = 0
            for k in range(n_thr - 1, -1, -1):  # surely above threshold k: n_above > k
                running += hist[g, k + 1]
                above[b, g, order[b, k]] = running
    return above, band, n_band


@numba.njit(nogil=True, cache=True)
def pair_dots(a, b, rows, cols):
    """float64 <a[rows[i]], b[cols[i]]> for every i: THE float64 score of ranking.
    a and b may be float32 or float64; elements are widened to float64 (exactly) before
    they are multiplied.

    Every pair is summed in the same fixed order (eight interleaved partial sums, then a
    fixed tree), so a pair's score never depends on which call or batch asked for it:
    a candidate equal to a relevant one ties with it exactly. Eight lanes let the
    compiler use vector registers without reordering the sums."""
    dim = a.shape[1]
    head = dim - dim % 8
    out = np.empty(len(rows))
    for i in range(len(rows)):
        x, y = a[rows[i]], b[cols[i]]
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
        for d in range(0, head, 8):
            s0 += np.float64(x[d]) * np.float64(y[d])
            s1 += np.float64(x[d + 1]) * np.float64(y[d + 1])
            s2 += np.float64(x[d + 2]) * np.float64(y[d + 2])
            s3 += np.float64(x[d + 3]) * np.float64(y[d + 3])
            s4 += np.float64(x[d + 4]) * np.float64(y[d + 4])
            s5 += np.float64(x[d + 5]) * np.float64(y[d + 5])
            s6 += np.float64(x[d + 6]) * np.float64(y[d + 6])
            s7 += np.float64(x[d + 7]) * np.float64(y[d + 7])
        tail = 0.0
        for d in range(head, dim):
            tail += np.float64(x[d]) * np.float64(y[d])
        out[i] = (((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))) + tail
    return out
