"""MIRACL scoring: trec_eval semantics on a small corpus fixture and on the real mirrored
qrels; the corpus-unavailable path."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from mixbatch.metrics.miracl import run_from_topk, score_run
from mixbatch.retrieval import miracl_corpus
from mixbatch.retrieval.index import build_index, search
from mixbatch.retrieval.miracl_eval import language_rows, score_miracl

QRELS = pd.DataFrame(
    [("q1", "d1", 1), ("q1", "d2", 1), ("q1", "d3", 0), ("q2", "d4", 1), ("q3", "d5", 1)],
    columns=["qid", "docid", "relevance"],
)


def test_hand_computed_ndcg_and_recall_with_a_query_without_hits():
    run = {"q1": {"d3": 3.0, "d1": 2.0, "dx": 1.0}, "q2": {"d4": 1.0}}  # q3: no hits
    out = score_run(QRELS, run)
    ndcg_q1 = (1 / math.log2(3)) / (1 + 1 / math.log2(3))  # d1 at rank 2; ideal d1, d2
    assert out["nDCG@10"] == pytest.approx((ndcg_q1 + 1 + 0) / 3)
    assert out["R@100"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert out["n_queries"] == 3 and out["n_queries_without_hits"] == 1
    assert run == {"q1": {"d3": 3.0, "d1": 2.0, "dx": 1.0}, "q2": {"d4": 1.0}}  # not modified


@pytest.mark.parametrize("factory", ["Flat", "HNSW8"])
def test_search_through_the_index_stays_in_one_language(factory):
    """The pooled index of two languages (contiguous rows): a query searches only its
    language's rows, even where the other language holds its nearest vector."""
    rng = np.random.default_rng(0)
    docs = rng.normal(size=(12, 4)).astype(np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    cids = [f"sw:a#{i}" for i in range(6)] + [f"fi:b#{i}" for i in range(6)]
    assert language_rows(cids) == {"sw": (0, 6), "fi": (6, 12)}
    index = build_index(docs, factory, ef_search=64)
    queries = docs[[0, 3, 8]] + 0.01  # nearest: sw 0, sw 3, fi 8
    scores, rows = search(index, queries[:2], 100, language_rows(cids)["fi"])
    assert set(rows[rows >= 0].ravel()) <= set(range(6, 12))  # never the sw rows, though nearer
    scores, rows = search(index, queries[:2], 100, language_rows(cids)["sw"])
    assert rows[:, 0].tolist() == [0, 3] and (rows[rows >= 0] < 6).all()
    run = run_from_topk(["sw:1", "sw:2"], [c.split(":", 1)[1] for c in cids], rows, scores)
    qrels = pd.DataFrame({"qid": ["sw:1", "sw:2"], "docid": ["a#0", "a#3"], "relevance": [1, 1]})
    assert score_run(qrels, run) == {"nDCG@10": 1.0, "R@100": 1.0, "n_queries": 2, "n_queries_without_hits": 0}


def test_a_corpus_whose_languages_are_not_contiguous_is_an_error():
    from mixbatch.errors import MixbatchError

    with pytest.raises(MixbatchError, match="'sw' is not one contiguous run"):
        language_rows(["sw:1", "fi:1", "sw:2"])


@pytest.mark.realdata
def test_trec_semantics_on_the_real_mirrored_qrels(shared_data):
    """A perfect run for half of the Swahili dev queries, none for the rest: the mean is
    over every judged query, so it is exactly the share of queries in the run."""
    path = next(shared_data.glob("castorini/anserini-tools/*/qrels/qrels.miracl-v1.0-sw-dev.tsv"))
    qrels = pd.read_csv(path, sep=r"\s+", header=None, names=["qid", "q0", "docid", "relevance"], dtype=str)
    qrels["relevance"] = qrels["relevance"].astype(int)
    judged = sorted(qrels.loc[qrels["relevance"] > 0, "qid"].unique())
    assert len(judged) > 400
    half = set(judged[: len(judged) // 2])
    run = {q: {d: float(r) for d, r in zip(g["docid"], g["relevance"])} for q, g in qrels.groupby("qid") if q in half}
    out = score_run(qrels, run)
    assert out["nDCG@10"] == pytest.approx(len(half) / len(judged))
    assert out["R@100"] == pytest.approx(len(half) / len(judged))
    assert out["n_queries"] == len(judged)


def test_offline_hub_records_skipped(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    side, status = miracl_corpus.load_candidates(["sw"], {"miracl_corpus": "miracl/miracl-corpus"}, 1)
    assert side is None and status.startswith("skipped: corpus unavailable")
    emb = tmp_path / "emb"
    emb.mkdir()
    (emb / "meta.json").write_text(json.dumps({"corpus": status}))
    assert score_miracl(tmp_path, emb, tmp_path / "no-index", {})["status"].startswith("skipped: corpus unavailable")


def test_encode_and_score_miracl_offline_end_to_end(tmp_path, tiny_model_dir, monkeypatch):
    from eval_fixtures import write_params

    from mixbatch.cli import main as cli

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    aligned = tmp_path / "miracl"
    aligned.mkdir()
    pd.DataFrame({"qid": ["sw:1", "sw:2"], "xling_id": ["sw:1", "sw:2"], "lang": ["sw", "sw"],
                  "text": ["Bandari kubwa nchini Kenya iko wapi?", "Kenya iko wapi?"]}).to_parquet(aligned / "questions.parquet")
    QRELS.assign(lang="sw").to_parquet(aligned / "qrels.parquet")
    params = write_params(tmp_path / "params.yaml")
    emb = tmp_path / "emb"
    assert cli(["encode", "--dataset", "miracl", "--aligned", str(aligned), "--model", str(tiny_model_dir),
                "--out", str(emb), "--params", str(params)]) == 0
    assert (emb / "questions.npy").exists() and not (emb / "candidates.npy").exists()
    index = tmp_path / "index"
    assert cli(["index", "--embeddings", str(emb), "--out", str(index), "--params", str(params)]) == 0
    metrics = tmp_path / "miracl.json"
    assert cli(["score", "--dataset", "miracl", "--aligned", str(aligned), "--embeddings", str(emb), "--index", str(index),
                "--metrics", str(metrics), "--plots", str(tmp_path / "plots"), "--details", str(tmp_path / "details"),
                "--params", str(params)]) == 0
    assert json.loads(metrics.read_text())["status"] == "skipped: corpus unavailable (HF_HUB_OFFLINE is set)"
