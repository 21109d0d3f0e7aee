"""mixbatch encode / index / score end to end on small fixtures with the tiny model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from eval_fixtures import write_lareqa, write_params, write_tatoeba

from mixbatch.cli import main as cli
from mixbatch.retrieval.encode import encode_texts, load_encoder, settings_from_params


@pytest.fixture(scope="module")
def lareqa_run(tmp_path_factory, tiny_model_dir):
    """Aligned fixture tables + their embeddings from `mixbatch encode`."""
    root = tmp_path_factory.mktemp("eval")
    aligned = write_lareqa(root / "aligned" / "xquad-r")
    params = write_params(root / "params.yaml")
    emb = root / "emb" / "xquad-r"
    rc = cli(["encode", "--dataset", "xquad-r", "--aligned", str(aligned), "--model", str(tiny_model_dir),
              "--out", str(emb), "--params", str(params)])
    assert rc == 0
    return root, aligned, params, emb


def _score(root, aligned, params, emb, dataset="xquad-r"):
    metrics = root / "metrics" / f"{dataset}.json"
    rc = cli(["score", "--dataset", dataset, "--aligned", str(aligned), "--embeddings", str(emb),
              "--metrics", str(metrics), "--plots", str(root / "plots" / dataset),
              "--details", str(root / "details" / dataset), "--params", str(params)])
    return rc, metrics


def test_encode_writes_rows_in_table_order(lareqa_run):
    root, aligned, params, emb = lareqa_run
    q = np.load(emb / "questions.npy")
    ids = pd.read_parquet(emb / "questions_ids.parquet")
    assert ids["qid"].tolist() == pd.read_parquet(aligned / "questions.parquet")["qid"].tolist()
    assert q.shape == (len(ids), 32) and q.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1, atol=1e-5)
    assert not (emb / ".partial").exists()
    meta = json.loads((emb / "meta.json").read_text())
    assert meta["sides"]["candidates"]["rows"] == len(pd.read_parquet(aligned / "candidates.parquet"))


def test_length_sorted_batches_give_the_same_vectors_as_one_by_one(tiny_model_dir):
    settings = settings_from_params({})
    encoder = load_encoder(tiny_model_dir, settings)
    texts = ["a", "Where is the largest port in Kenya?", "Wo ist der größte Hafen Kenias? " * 3, "Mombasa"]
    batched = encode_texts(encoder, texts, "query", batch_size=3)
    single = np.vstack([encode_texts(encoder, [t], "query", batch_size=1) for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_encode_resumes_from_a_finished_language(lareqa_run, tiny_model_dir):
    """A partial file of the right fingerprint and size is reused, not recomputed."""
    from mixbatch.stages.encode import fingerprint

    root, aligned, params, emb = lareqa_run
    out = root / "emb_resume"
    from mixbatch.config import load_params
    from mixbatch.model import precision as P
    from mixbatch.stages.encode import compute_layout

    settings = settings_from_params({})
    encode = load_params(params)["encode"]
    cpu = __import__("torch").device("cpu")
    compute = {**compute_layout(0, cpu), **P.resolve(encode["precision"], cpu).as_dict()}
    partial = out / ".partial"
    partial.mkdir(parents=True)
    (partial / "fingerprint.txt").write_text(fingerprint(tiny_model_dir, settings, encode, compute) + "\n")
    n_de = int((pd.read_parquet(aligned / "questions.parquet")["lang"] == "de").sum())
    marker = np.full((n_de, 32), 0.5, dtype=np.float32)
    np.save(partial / "questions.de.npy", marker)
    assert cli(["encode", "--dataset", "xquad-r", "--aligned", str(aligned), "--model", str(tiny_model_dir),
                "--out", str(out), "--params", str(params)]) == 0
    q = np.load(out / "questions.npy")
    np.testing.assert_array_equal(q[:n_de], marker)  # de rows come first in the table
    np.testing.assert_allclose(q[n_de:], np.load(emb / "questions.npy")[n_de:], atol=1e-6)


def test_index_and_score_lareqa(lareqa_run):
    root, aligned, params, emb = lareqa_run
    assert cli(["index", "--embeddings", str(emb), "--out", str(root / "index"), "--params", str(params)]) == 0
    import faiss

    index = faiss.read_index(str(root / "index" / "candidates.faiss"))
    assert index.ntotal == len(np.load(emb / "candidates.npy"))
    rc, metrics = _score(root, aligned, params, emb)
    assert rc == 0
    headline = json.loads(metrics.read_text())
    assert set(headline) == {"mo_map", "cr_map", "mul_map", "mul_map@20", "mul_r@1", "mul_r@10", "rank_distance",
                             "n_questions"}
    m = json.loads((root / "details" / "xquad-r" / "full.json").read_text())
    assert set(m) == {"mo", "cr", "mul", "per_lang", "pairs", "mix"}
    assert len(m["pairs"]) == 9 and m["pairs"]["en->el"]["n_skipped"] == 1
    assert 0 < m["mul"]["map"] <= 1 and headline["mul_map"] == m["mul"]["map"]
    assert (root / "details" / "xquad-r" / "map_heatmap.png").stat().st_size > 1000
    assert len(pd.read_csv(root / "plots" / "xquad-r" / "pairs.csv")) == 9
    assert set(pd.read_csv(root / "plots" / "xquad-r" / "per_lang.csv")["lang"]) == {"de", "el", "en"}
    # per-question rows: mo and mul for every question, cr for every other language with an answer
    questions = pd.read_parquet(root / "details" / "xquad-r" / "questions.parquet")
    counts = questions["setting"].value_counts().to_dict()
    assert counts == {"mul": 8, "mo": 8, "cr": 14}  # q3 exists in en/de only and has no el answer


def test_score_params_follow_map_k_and_recall_ks(lareqa_run, tmp_path):
    root, aligned, _, emb = lareqa_run
    params = write_params(tmp_path / "params.yaml", score={"map_k": 3, "recall_ks": [2, 5]})
    rc, metrics = _score(tmp_path, aligned, params, emb)
    assert rc == 0
    assert {"mul_map@3", "mul_r@2", "mul_r@5"} <= set(json.loads(metrics.read_text()))
    questions = pd.read_parquet(tmp_path / "details" / "xquad-r" / "questions.parquet")
    assert {"ap@3", "r@2", "r@5"} <= set(questions.columns)


def test_a_failing_score_leaves_nothing_behind(lareqa_run, tmp_path, capsys):
    root, aligned, params, emb = lareqa_run
    broken = tmp_path / "emb"
    shutil.copytree(emb, broken)
    (broken / "candidates.npy").write_bytes((emb / "candidates.npy").read_bytes()[:100])  # truncated
    rc, metrics = _score(tmp_path, aligned, params, broken)
    assert rc == 2
    err = capsys.readouterr().err
    assert "candidates.npy: not a readable .npy array" in err and "Traceback" not in err
    assert not metrics.exists() and not (tmp_path / "plots").exists() and not (tmp_path / "details").exists()


def test_score_tatoeba(tmp_path, tiny_model_dir):
    aligned = write_tatoeba(tmp_path / "tatoeba")
    params = write_params(tmp_path / "params.yaml", score={"tatoeba_headline": "all"},
                          encode={"tatoeba_languages": "all"})
    emb = tmp_path / "emb"
    assert cli(["encode", "--dataset", "tatoeba", "--aligned", str(aligned), "--model", str(tiny_model_dir),
                "--out", str(emb), "--params", str(params)]) == 0
    rc, metrics = _score(tmp_path, aligned, params, emb, "tatoeba")
    assert rc == 0
    m = json.loads((tmp_path / "details" / "tatoeba" / "full.json").read_text())
    assert set(m["per_lang"]) == {"deu", "ell"} and m["mean"] == m["mean_all"]
    assert json.loads(metrics.read_text())["acc"] == m["mean"]["mean"]


def test_tatoeba_language_selection(tmp_path, tiny_model_dir, capsys):
    aligned = write_tatoeba(tmp_path / "tatoeba")
    emb = tmp_path / "emb"
    params = write_params(tmp_path / "params.yaml", encode={"tatoeba_languages": ["ell"]})
    assert cli(["encode", "--dataset", "tatoeba", "--aligned", str(aligned), "--model", str(tiny_model_dir),
                "--out", str(emb), "--params", str(params)]) == 0
    assert set(pd.read_parquet(emb / "questions_ids.parquet")["lang"]) == {"ell"}
    rc, metrics = _score(tmp_path, aligned, params, emb, "tatoeba")
    assert rc == 0 and set(json.loads((tmp_path / "details" / "tatoeba" / "full.json").read_text())["per_lang"]) == {"ell"}
    # the default (the XQuAD-R languages) names what the data lacks
    params = write_params(tmp_path / "params.yaml")
    assert cli(["encode", "--dataset", "tatoeba", "--aligned", str(aligned), "--model", str(tiny_model_dir),
                "--out", str(tmp_path / "emb2"), "--params", str(params)]) == 2
    assert "encode.tatoeba_languages: no Tatoeba data for ara, cmn" in capsys.readouterr().err


def _copy_run(lareqa_run, tmp_path):
    root, aligned, params, emb = lareqa_run
    shutil.copytree(aligned, tmp_path / "aligned")
    shutil.copytree(emb, tmp_path / "emb")
    return tmp_path / "aligned", params, tmp_path / "emb"


def test_embeddings_out_of_step_with_ids_is_an_error(lareqa_run, tmp_path, capsys):
    aligned, params, emb = _copy_run(lareqa_run, tmp_path)
    np.save(emb / "questions.npy", np.load(emb / "questions.npy")[:-1])
    assert _score(tmp_path, aligned, params, emb)[0] == 2
    assert "rows, but" in capsys.readouterr().err
    # same row count, but the aligned table was rebuilt in another order
    q = pd.read_parquet(aligned / "questions.parquet")
    q.iloc[::-1].to_parquet(aligned / "questions.parquet", index=False)
    shutil.copy(lareqa_run[3] / "questions.npy", emb / "questions.npy")
    assert _score(tmp_path, aligned, params, emb)[0] == 2
    assert "out of step" in capsys.readouterr().err


def test_dataset_without_qrels_is_an_error(lareqa_run, tmp_path, capsys):
    aligned, params, emb = _copy_run(lareqa_run, tmp_path)
    pd.read_parquet(aligned / "qrels.parquet").iloc[:0].to_parquet(aligned / "qrels.parquet", index=False)
    assert _score(tmp_path, aligned, params, emb)[0] == 2
    assert "no qrels" in capsys.readouterr().err
    (aligned / "qrels.parquet").unlink()
    assert _score(tmp_path, aligned, params, emb)[0] == 2
    assert "qrels.parquet: not found" in capsys.readouterr().err


def test_empty_language_is_an_error(lareqa_run, tmp_path, capsys):
    aligned, params, emb = _copy_run(lareqa_run, tmp_path)
    c = pd.read_parquet(aligned / "candidates.parquet")
    c[c["lang"] != "el"].to_parquet(aligned / "candidates.parquet", index=False)
    assert _score(tmp_path, aligned, params, emb)[0] == 2
    err = capsys.readouterr().err
    assert "empty language" in err and "'el'" in err


def test_empty_text_is_an_error(tmp_path, tiny_model_dir, capsys):
    aligned = write_lareqa(tmp_path / "aligned")
    q = pd.read_parquet(aligned / "questions.parquet")
    q.loc[0, "text"] = " "
    q.to_parquet(aligned / "questions.parquet", index=False)
    params = write_params(tmp_path / "params.yaml")
    assert cli(["encode", "--dataset", "xquad-r", "--aligned", str(aligned), "--model", str(tiny_model_dir),
                "--out", str(tmp_path / "emb"), "--params", str(params)]) == 2
    assert "empty texts" in capsys.readouterr().err
