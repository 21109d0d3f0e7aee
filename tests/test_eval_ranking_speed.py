"""The float32-filtered exact ranking of lareqa.rank_all: ranks must be those of the
float64 scores even where float32 cannot tell candidates apart."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from mixbatch.metrics import lareqa
from mixbatch.metrics.ranking import exact_dots, float32_error_bound, per_question_metrics, relevant_scores
from ranking_reference import pad_relevant, relevant_ranks


def _float64_scores(q, c):
    """Every (question, candidate) float64 score, through exact_dots."""
    return exact_dots(q, c, np.arange(len(q))[:, None], np.arange(len(c))[None, :])


def _check_against_float64(q, c, q_lang, c_lang, pairs, block_size=5):
    """rank_all (Mul. and per language) == the score-matrix ranking of the float64
    scores, rank for rank, and AP == sklearn's on them."""
    inp = lareqa.LareqaInputs(q, c, q_lang, c_lang, pairs)
    mul, per_y = lareqa.rank_all(inp, block_size=block_size)
    scores = _float64_scores(q, c)
    rel = [np.sort(pairs[pairs[:, 0] == i, 1]) for i in range(len(q))]
    ref_rank, ref_prec = relevant_ranks(scores, pad_relevant(rel))
    # rank_all orders relevant candidates by pool position, so compare per-row multisets
    np.testing.assert_array_equal(np.sort(mul[0], axis=1), np.sort(ref_rank, axis=1))
    ap = per_question_metrics(*mul)["ap"]
    np.testing.assert_allclose(ap, per_question_metrics(ref_rank, ref_prec)["ap"], rtol=0, atol=1e-15)
    for i in range(len(q)):
        y = np.zeros(len(c))
        y[rel[i]] = 1
        assert ap[i] == pytest.approx(average_precision_score(y, scores[i]), abs=1e-12)
    for lang, (rank_y, _) in per_y.items():
        cols = np.flatnonzero(c_lang == lang)
        rel_y = [np.flatnonzero(np.isin(cols, r)) for r in rel]
        ref_y, _ = relevant_ranks(scores[:, cols], pad_relevant(rel_y))
        np.testing.assert_array_equal(np.sort(rank_y, axis=1), np.sort(ref_y, axis=1))
    return mul


def test_near_ties_below_float32_precision_rank_as_float64_says():
    rng = np.random.default_rng(7)
    d = 64
    q = rng.normal(size=(3, d))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    base = rng.normal(size=d)
    base = 0.6 * base / np.linalg.norm(base) + 0.5 * q[0]
    # 21 candidates whose scores for question 0 step by ~1e-12: one float32 value
    steps = np.arange(-10, 11) * 1e-12
    near = base[None, :] + steps[:, None] * q[0][None, :]
    far = rng.normal(size=(30, d)) * 0.05
    c = np.vstack([near, far])
    c_lang = np.array(["x", "y"] * 10 + ["x"] + ["y", "x"] * 15)
    f32 = c.astype(np.float32) @ q[0].astype(np.float32)
    assert len(np.unique(f32[:21])) < 21  # float32 really cannot separate them
    s64 = _float64_scores(q[:1], c)[0, :21]
    assert (np.diff(s64) > 0).all()  # float64 can
    # question 0: relevant = the middle near-tie and one at the edge; others: random
    pairs = np.array([(0, 10), (0, 3), (1, 10), (1, 40), (2, 25), (2, 0)])
    mul = _check_against_float64(q, c, np.array(["x", "y", "x"]), c_lang, pairs)
    # 10 near-ties score above the middle one; 16 (+ the relevant middle one) above step -7
    assert sorted(mul[0][0].tolist()) == [11, 18]


def test_exact_ties_from_equal_vectors_tie_wherever_they_sit():
    rng = np.random.default_rng(8)
    q = rng.normal(size=(4, 32))
    c = rng.normal(size=(40, 32))
    c[[5, 17, 33]] = c[2]  # duplicates of relevant candidate 2, in other blocks/languages
    c_lang = np.array(["a", "b", "c", "d"] * 10)
    pairs = np.array([(0, 2), (1, 2), (1, 9), (2, 2), (3, 30)])
    mul = _check_against_float64(q, c, np.array(["a", "b", "c", "d"]), c_lang, pairs, block_size=3)
    scores = _float64_scores(q, c)
    assert (scores[:, [5, 17, 33]] == scores[:, [2]]).all()
    # tie convention: the 3 tied non-relevant duplicates rank above the relevant one
    higher = (scores[0] > scores[0, 2]).sum()
    assert mul[0][0, 0] == higher + 3 + 1


@pytest.mark.parametrize("positive", [True, False])
def test_random_embeddings_positive_and_mixed_sign_scores(positive):
    """Random pools, scores all positive or of both signs, several blocks and languages:
    the float64 ranks."""
    rng = np.random.default_rng(9)
    q, c = rng.normal(size=(25, 12)), rng.normal(size=(70, 12))
    if positive:
        q, c = np.abs(q), np.abs(c)
    pairs = np.array([(i, j) for i in range(25) for j in rng.choice(70, rng.integers(1, 4), replace=False)])
    _check_against_float64(q, c, np.array(list("abcde") * 5), np.array(list("abcdefg") * 10), pairs, block_size=4)
    # sorting this pool by language swaps its first two rows: a self-inverse permutation
    swapped = np.array(["b", "a"] + ["b"] * 28 + ["c"] * 40)
    _check_against_float64(q, c, np.array(list("abc") * 8 + ["a"]), swapped, pairs, block_size=6)


def test_count_block_matches_brute_force_counts():
    """The compiled kernel against numpy comparisons: per row, group and threshold, the
    candidates surely above (approx > hi) and exactly the band (lo <= approx <= hi)."""
    from mixbatch.metrics.kernels import count_block

    rng = np.random.default_rng(10)
    b, n, r = 7, 1200, 5
    approx = rng.choice(np.linspace(-1, 1, 41), size=(b, n)).astype(np.float32)  # many ties
    approx[2, 5] = -np.inf  # a relevant candidate's slot
    t = rng.choice(np.linspace(-1, 1, 41), size=(b, r))
    lo, hi = (t - 0.12).astype(np.float32), (t + 0.12).astype(np.float32)
    lo[0, 3:], hi[0, 3:] = np.inf, np.inf  # padding thresholds count nothing
    lo[1, :2], hi[1, :2] = -0.1, [0.3, 0.1]  # equal lower edges, upper ones descending
    group_starts = np.array([0, 100, 100, 700, n])  # group 1 is empty
    above, band_row, band_col, band_k = count_block(approx, lo, hi, group_starts)
    for g in range(len(group_starts) - 1):
        cols = slice(group_starts[g], group_starts[g + 1])
        ref = (approx[:, cols, None] > hi[:, None, :]).sum(axis=1)
        np.testing.assert_array_equal(above[:, g, :], ref)
    in_band = (approx[:, :, None] >= lo[:, None, :]) & (approx[:, :, None] <= hi[:, None, :])
    assert sorted(zip(band_row.tolist(), band_col.tolist(), band_k.tolist())) == sorted(
        map(tuple, np.argwhere(in_band).tolist())
    )
    assert len(band_row) > 16 * lo.size + 1024  # more than the first pass had room for
    nested = np.tile(np.array([[0.0, 0.1]], np.float32), (b, 1))
    with pytest.raises(ValueError, match="ordered by their upper edge"):
        count_block(approx, nested, nested + np.array([0.5, 0.2], np.float32), group_starts)
    with pytest.raises(ValueError, match="do not match 7 score rows"):
        count_block(approx, nested[:1], nested[:1], group_starts)
    with pytest.raises(ValueError, match="group_starts must ascend"):
        count_block(approx, nested, nested, np.array([0, 700, 100, n]))


def test_thousands_of_exact_ties_are_all_decided_in_float64():
    """2,000 copies of the relevant vector: all tie with it, so it ranks last among them."""
    rng = np.random.default_rng(11)
    q = rng.normal(size=(2, 16))
    c = np.vstack([np.tile(q[0], (2000, 1)), 0.01 * rng.normal(size=(50, 16))])  # copies score highest
    pairs = np.array([(0, 7), (1, 2010)])
    mul = _check_against_float64(q, c, np.array(["a", "b"]), np.array(["a"] * 1000 + ["b"] * 1050), pairs, block_size=2)
    assert mul[0][0, 0] == 2000


@pytest.mark.parametrize("dim", [384, 13])  # 13: a tail after the eight-lane sums
def test_exact_dots_same_bits_in_any_batch_and_accurate(dim):
    """A pair's float64 score is the same bits asked alone, in a batch, in any order, or
    through relevant_scores; and it is the true inner product to float64 accuracy."""
    import math

    rng = np.random.default_rng(10)
    q, c = rng.normal(size=(30, dim)), rng.normal(size=(50, dim))
    rows, cols = rng.integers(0, 30, 500), rng.integers(0, 50, 500)
    batch = exact_dots(q, c, rows, cols)
    perm = rng.permutation(500)
    np.testing.assert_array_equal(exact_dots(q, c, rows[perm], cols[perm]), batch[perm])
    for i in range(0, 500, 97):
        assert exact_dots(q, c, rows[i : i + 1], cols[i : i + 1])[0] == batch[i]
        true = math.fsum(q[rows[i]] * c[cols[i]])  # exact products summed exactly, near enough
        assert abs(batch[i] - true) <= 1e-13 * np.linalg.norm(q[rows[i]]) * np.linalg.norm(c[cols[i]])
    rel = pad_relevant([rng.choice(50, rng.integers(1, 4), replace=False) for _ in range(30)])
    got = relevant_scores(q, c, rel)
    r, slot = np.nonzero(rel >= 0)
    np.testing.assert_array_equal(got[r, slot], exact_dots(q, c, r, rel[r, slot]))
    assert np.isneginf(got[rel < 0]).all()


def test_float32_error_bound_holds():
    rng = np.random.default_rng(11)
    q, c = rng.normal(size=(40, 384)), rng.normal(size=(60, 384)) * 3
    eps = float32_error_bound(384, np.linalg.norm(q, axis=1), float(np.linalg.norm(c, axis=1).max()))
    err = np.abs(q.astype(np.float32) @ c.astype(np.float32).T - _float64_scores(q, c))
    assert (err <= eps[:, None]).all()


def test_float32_and_float16_embeddings_rank_as_their_float64_values():
    """Stored embeddings are float32 (or float16): scoring them as they are must give the
    ranks of the same values widened to float64, bit for bit. Dim 45: the eight-lane
    sums and the tail after them."""
    rng = np.random.default_rng(12)
    q, c = rng.normal(size=(20, 45)).astype(np.float32), rng.normal(size=(90, 45)).astype(np.float32)
    c[40] = c[3]  # an exact tie with a relevant candidate
    pairs = np.array([(i, (7 * i) % 90) for i in range(20)] + [(0, 3), (5, 40)])
    q_lang, c_lang = np.array(list("ab") * 10), np.array(list("abc") * 30)
    rows, cols = np.repeat(np.arange(20), 90), np.tile(np.arange(90), 20)
    np.testing.assert_array_equal(exact_dots(q, c, rows, cols), exact_dots(q.astype(np.float64), c.astype(np.float64), rows, cols))
    for dtype in (np.float32, np.float16):
        got = lareqa.rank_all(lareqa.LareqaInputs(q.astype(dtype), c.astype(dtype), q_lang, c_lang, pairs), block_size=8)
        wide = lareqa.rank_all(
            lareqa.LareqaInputs(q.astype(dtype).astype(np.float64), c.astype(dtype).astype(np.float64), q_lang, c_lang, pairs),
            block_size=8,
        )
        for a, b in zip(got[0], wide[0]):
            np.testing.assert_array_equal(a, b)
        for lang in got[1]:
            np.testing.assert_array_equal(got[1][lang][0], wide[1][lang][0])


def test_non_finite_and_huge_embeddings_are_errors():
    q, c = np.eye(2), np.eye(2)
    lang = np.array(["a", "a"])
    with pytest.raises(ValueError, match="NaN or infinite"):
        lareqa.rank_all(lareqa.LareqaInputs(q * np.nan, c, lang, lang, np.array([(0, 0), (1, 1)])))
    with pytest.raises(ValueError, match="NaN or infinite"):
        c_inf = c.copy()
        c_inf[1, 0] = np.inf
        lareqa.rank_all(lareqa.LareqaInputs(q, c_inf, lang, lang, np.array([(0, 0), (1, 1)])))
    with pytest.raises(ValueError, match="norms above"):
        lareqa.rank_all(lareqa.LareqaInputs(q * 1e20, c, lang, lang, np.array([(0, 0), (1, 1)])))
