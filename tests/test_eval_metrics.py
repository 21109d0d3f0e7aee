"""LAReQA metrics against sklearn and hand-computed cases; Tatoeba accuracy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from mixbatch.metrics import lareqa, tatoeba
from mixbatch.metrics.ranking import per_question_metrics
from ranking_reference import pad_relevant, relevant_ranks

ALIGNED = Path(__file__).resolve().parents[1] / "data" / "aligned"


def _metrics(scores, relevant, **kw):
    rank, prec = relevant_ranks(np.asarray(scores, dtype=np.float64)[None], pad_relevant([np.array(relevant)]))
    return {k: v[0] for k, v in per_question_metrics(rank, prec, **kw).items()}, rank[0]


def _unit(rng, n, d):
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _sklearn_ap(q, c, relevant_rows):
    """XTREME's reference: sklearn AP of one question against the whole pool."""
    y = np.zeros(len(c))
    y[relevant_rows] = 1
    return average_precision_score(y, c.astype(np.float64) @ q.astype(np.float64))


def test_hand_computed_ranks_ap_recall_and_distance():
    m, rank = _metrics([0.9, 0.8, 0.7, 0.6], [1, 3], map_k=2, recall_ks=(1, 2, 10))
    assert rank.tolist() == [2, 4]
    assert m["ap"] == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert m["ap@2"] == pytest.approx((1 / 2) / 2)  # only rank 2 is inside the top 2
    assert (m["r@1"], m["r@2"], m["r@10"]) == (0, 1, 1)
    assert (m["recall@1"], m["recall@2"], m["recall@10"]) == (0, 0.5, 1)
    assert m["rank_distance"] == 2


def test_ties_match_sklearn_and_the_documented_rank_convention():
    # a non-relevant candidate tied with the relevant one ranks above it
    m, rank = _metrics([0.5, 0.5, 0.3], [0])
    assert rank.tolist() == [2] and m["r@1"] == 0
    assert m["ap"] == pytest.approx(average_precision_score([1, 0, 0], [0.5, 0.5, 0.3]))
    # two relevant candidates tied at the top both rank 1; AP 1
    m, rank = _metrics([0.5, 0.5, 0.3], [0, 1])
    assert rank.tolist() == [1, 1] and m["r@1"] == 1 and m["rank_distance"] == 0 and m["ap"] == 1
    # ties across the board, against sklearn
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 4, size=50) / 4
    rel = rng.choice(50, 7, replace=False)
    y = np.zeros(50)
    y[rel] = 1
    assert _metrics(scores, rel)[0]["ap"] == pytest.approx(average_precision_score(y, scores), abs=1e-12)


def test_full_ranking_ap_matches_sklearn_on_random_embeddings():
    rng = np.random.default_rng(0)
    q, c = _unit(rng, 60, 8), _unit(rng, 90, 8)
    q_lang = np.array(["a", "b", "c"] * 20)
    c_lang = np.array(["a", "b", "c"] * 30)
    pairs = np.array([(i, j) for i in range(60) for j in rng.choice(90, rng.integers(1, 5), replace=False)])
    inp = lareqa.LareqaInputs(q, c, q_lang, c_lang, pairs)
    mul, per_y = lareqa.rank_all(inp, block_size=7)
    ap = per_question_metrics(*mul)["ap"]
    ref = [_sklearn_ap(q[i], c, pairs[pairs[:, 0] == i, 1]) for i in range(60)]
    np.testing.assert_allclose(ap, ref, rtol=0, atol=1e-9)
    # one X->Y pair against sklearn on Y's pool alone
    result = lareqa.evaluate(inp, block_size=7)
    y_rows = np.flatnonzero(c_lang == "b")
    refs = []
    for i in np.flatnonzero(q_lang == "a"):
        rel = np.flatnonzero(np.isin(y_rows, pairs[pairs[:, 0] == i, 1]))
        if len(rel):
            refs.append(_sklearn_ap(q[i], c[y_rows], rel))
    assert result["pairs"]["a->b"]["map"] == pytest.approx(np.mean(refs), abs=1e-9)
    assert result["mul"]["map"] == pytest.approx(np.mean(ref), abs=1e-9)


def test_settings_macro_and_skips():
    # 2 languages; question 1's id has no answer in "b"
    q = np.eye(3)[[0, 1, 0]]
    c = np.eye(3)[[0, 1, 2, 0]]
    inp = lareqa.LareqaInputs(q, c, np.array(["a", "a", "b"]), np.array(["a", "a", "b", "b"]),
                              np.array([(0, 0), (0, 3), (1, 1), (2, 0), (2, 3)]))
    r = lareqa.evaluate(inp)
    assert r["pairs"]["a->b"]["n_questions"] == 1 and r["pairs"]["a->b"]["n_skipped"] == 1
    assert r["mo"]["n_pairs"] == 2 and r["cr"]["n_pairs"] == 2
    assert r["mo"]["map"] == pytest.approx(np.mean([r["pairs"]["a->a"]["map"], r["pairs"]["b->b"]["map"]]))
    assert set(r["mul"]) >= {"map", "map@20", "r@1", "r@10", "rank_distance"}


def test_no_qrels_and_misaligned_inputs_are_errors():
    q, c = np.eye(2), np.eye(2)
    with pytest.raises(ValueError, match="no qrels"):
        lareqa.evaluate(lareqa.LareqaInputs(q, c, np.array(["a", "a"]), np.array(["a", "a"]), np.zeros((0, 2), int)))
    with pytest.raises(ValueError, match="embeddings for"):
        lareqa.evaluate(lareqa.LareqaInputs(q, c, np.array(["a"]), np.array(["a", "a"]), np.array([(0, 0)])))
    with pytest.raises(ValueError, match="have no qrels"):
        lareqa.evaluate(lareqa.LareqaInputs(q, c, np.array(["a", "a"]), np.array(["a", "a"]), np.array([(0, 0)])))


@pytest.fixture(scope="module")
def real_xquad_r(shared_data, tmp_path_factory):
    """data/aligned/xquad-r when the pipeline built it, else aligned here from the mirror."""
    if (ALIGNED / "xquad-r" / "qrels.parquet").exists():
        return ALIGNED / "xquad-r"
    from mixbatch.stages import align, download

    root = tmp_path_factory.mktemp("xquad-r")
    download.run("xquad-r", root / "raw", [shared_data], timeout=5, retries=0)
    align.run("xquad-r", root / "raw", root / "aligned")
    return root / "aligned"


@pytest.mark.realdata
def test_matches_sklearn_on_the_real_xquad_r_structure(real_xquad_r):
    """Random embeddings, the real XQuAD-R pool and qrels; a sample of questions vs sklearn."""
    from mixbatch.retrieval.tables import lareqa_qrel_rows, load_sides

    folder = real_xquad_r
    sides = load_sides("xquad-r", folder)
    qs, cs = sides["questions"], sides["candidates"]
    assert (len(qs.ids), len(cs.ids)) == (13090, 13014)
    pairs = lareqa_qrel_rows(folder, qs.ids, cs.ids)
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(len(qs.ids), 150, replace=False))
    q, c = _unit(rng, len(qs.ids), 16), _unit(rng, len(cs.ids), 16)
    # make answers close to their questions so AP is far from 0
    for i, j in pairs[np.isin(pairs[:, 0], sample)]:
        c[j] = c[j] + q[i]
    keep = np.isin(pairs[:, 0], sample)
    inp = lareqa.LareqaInputs(q[sample], c, np.asarray(qs.lang)[sample], np.asarray(cs.lang),
                              np.stack([np.searchsorted(sample, pairs[keep, 0]), pairs[keep, 1]], 1))
    mul, _ = lareqa.rank_all(inp)
    ap = per_question_metrics(*mul)["ap"]
    ref = [_sklearn_ap(q[i], c, pairs[pairs[:, 0] == i, 1]) for i in sample]
    np.testing.assert_allclose(ap, ref, rtol=0, atol=1e-9)
    assert 0.05 < np.mean(ref) < 1


def test_tatoeba_accuracy_hand_case_and_ties():
    eng = np.eye(3)
    xx = np.array([[1, 0, 0], [0, 0, 1.0], [0, 0, 1.0]])  # row 1 finds row 2; row 2 right
    assert tatoeba.accuracy_at_1(xx, eng) == pytest.approx(2 / 3)
    tied = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1.0]])  # row 0 ties rows 0 and 1: wrong
    assert tatoeba.accuracy_at_1(tied, eng) == pytest.approx(2 / 3)
    langs = np.array(["afr"] * 3 + ["xyz"] * 3)
    r = tatoeba.evaluate(langs, np.vstack([xx, eng]), np.vstack([eng, eng]))
    assert r["per_lang"]["afr"]["xx->en"] == pytest.approx(2 / 3)
    assert r["per_lang"]["xyz"]["mean"] == 1.0
    assert r["mean_xtreme_r"]["n_languages"] == 1 and r["mean_all"]["n_languages"] == 2
    assert r["mean"] == r["mean_xtreme_r"] and "ron" in r["missing_xtreme_r"]
    assert len(tatoeba.XTREME_R_LANGS) == 41


@pytest.mark.parametrize("top", [5, 400])  # few candidates above (pruned path) / most (full passes)
def test_count_at_or_above_both_paths(top):
    from ranking_reference import count_at_or_above

    rng = np.random.default_rng(3)
    scores = rng.normal(size=(40, 500))
    thresholds = np.sort(scores, axis=1)[:, -top:][:, :3].copy()
    thresholds[[0, 7], :] = np.inf  # rows without relevant candidates here
    thresholds[5, 1] = np.inf
    ref = np.stack([(scores >= thresholds[:, j : j + 1]).sum(1) for j in range(3)], 1)
    np.testing.assert_array_equal(count_at_or_above(scores, thresholds), ref)
