"""The float32-filtered exact ranking of lareqa.rank_all: ranks must be those of the
float64 scores even where float32 cannot tell candidates apart."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from mixbatch.metrics import lareqa
from mixbatch.metrics.ranking import (
    exact_dots,
    float32_error_bound,
    pad_relevant,
    per_question_metrics,
    relevant_ranks,
    relevant_scores,
)


def _float64_scores(q, c):
    """Every (question, candidate) float64 score, through exact_dots."""
    return exact_dots(np.repeat(q, len(c), axis=0), np.tile(c, (len(q), 1))).reshape(len(q), len(c))


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
def test_random_embeddings_both_key_paths(positive):
    """All-positive scores use the raw float32 bit patterns as sort keys, others the
    sign-flipped ones; both must give the float64 ranks."""
    rng = np.random.default_rng(9)
    q, c = rng.normal(size=(25, 12)), rng.normal(size=(70, 12))
    if positive:
        q, c = np.abs(q), np.abs(c)
    pairs = np.array([(i, j) for i in range(25) for j in rng.choice(70, rng.integers(1, 4), replace=False)])
    _check_against_float64(q, c, np.array(list("abcde") * 5), np.array(list("abcdefg") * 10), pairs, block_size=4)
    # sorting this pool by language swaps its first two rows: a self-inverse permutation
    swapped = np.array(["b", "a"] + ["b"] * 28 + ["c"] * 40)
    _check_against_float64(q, c, np.array(list("abc") * 8 + ["a"]), swapped, pairs, block_size=6)


def test_relevant_scores_and_exact_dots_give_the_same_bits():
    rng = np.random.default_rng(10)
    q, c = rng.normal(size=(30, 384)), rng.normal(size=(50, 384))
    grouped = np.tile(np.array([[3, 7, 11], [4, -1, -1]]), (15, 1))  # few shared lists
    scattered = pad_relevant([rng.choice(50, rng.integers(1, 4), replace=False) for _ in range(30)])
    skewed = scattered.copy()
    skewed[:20] = skewed[0]  # one big group: padding would be large, per-question path
    for rel in (grouped, scattered, skewed):
        got = relevant_scores(q, c, rel)
        rows, slots = np.nonzero(rel >= 0)
        np.testing.assert_array_equal(got[rows, slots], exact_dots(q[rows], c[rel[rows, slots]]))
        assert np.isneginf(got[rel < 0]).all()


def test_float32_error_bound_holds():
    rng = np.random.default_rng(11)
    q, c = rng.normal(size=(40, 384)), rng.normal(size=(60, 384)) * 3
    eps = float32_error_bound(384, np.linalg.norm(q, axis=1), float(np.linalg.norm(c, axis=1).max()))
    err = np.abs(q.astype(np.float32) @ c.astype(np.float32).T - _float64_scores(q, c))
    assert (err <= eps[:, None]).all()


def test_non_finite_and_huge_embeddings_are_errors():
    q, c = np.eye(2), np.eye(2)
    lang = np.array(["a", "a"])
    with pytest.raises(ValueError, match="NaN or infinite"):
        lareqa.rank_all(lareqa.LareqaInputs(q * np.nan, c, lang, lang, np.array([(0, 0), (1, 1)])))
    with pytest.raises(ValueError, match="norms above"):
        lareqa.rank_all(lareqa.LareqaInputs(q * 1e20, c, lang, lang, np.array([(0, 0), (1, 1)])))
