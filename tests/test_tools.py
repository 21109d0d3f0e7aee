"""`mixbatch search` (through the built index), `mixbatch export` (model card), the index's
search settings, and unwritable outputs."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
import yaml
from eval_fixtures import write_lareqa

from mixbatch.cli import main as cli
from mixbatch.config import validate_params
from mixbatch.model.encoder import Encoder, EncoderSettings
from mixbatch.retrieval.encode import encode_texts, load_encoder
from mixbatch.retrieval.index import load_index
from mixbatch.stages import export
from mixbatch.stages.search import hits


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, tiny_model_dir):
    root = tmp_path_factory.mktemp("search")
    aligned = write_lareqa(root / "aligned")
    params = root / "params.yaml"
    params.write_text(yaml.safe_dump({"encode": {"batch_size": 2}, "index": {"factory": "Flat"}}))
    for stage in (["encode", "--dataset", "xquad-r", "--aligned", str(aligned), "--model", str(tiny_model_dir),
                   "--out", str(root / "emb")], ["index", "--embeddings", str(root / "emb"), "--out", str(root / "index")]):
        assert cli([*stage, "--params", str(params)]) == 0
    return root, aligned, params


def test_search_answers_from_every_language_through_the_index(indexed, tiny_model_dir):
    root, aligned, _ = indexed
    params = validate_params({})
    n_pool = len(pd.read_parquet(aligned / "candidates.parquet"))
    found = hits(params, "zeroshot", "xquad-r", ["Where is the largest port in Kenya?"], n_pool, tiny_model_dir,
                 root / "index", aligned)
    assert found["rank"].tolist() == list(range(1, n_pool + 1))
    assert set(found["lang"]) == {"de", "el", "en"}  # a pooled, multilingual index
    assert (found["score"].diff().dropna() <= 0).all()
    candidates = pd.read_parquet(aligned / "candidates.parquet").set_index("cid")
    assert all(candidates.loc[r.id, "sentence"] == r.text for r in found.itertuples())
    # exact search: the scores are the inner products with the question's own embedding
    query = encode_texts(load_encoder(tiny_model_dir, EncoderSettings()), ["Where is the largest port in Kenya?"], "query")
    vectors = np.load(root / "emb" / "candidates.npy")
    ids = pd.read_parquet(root / "emb" / "candidates_ids.parquet")["cid"].tolist()
    expected = np.sort(vectors @ query[0])[::-1]
    np.testing.assert_allclose(found["score"].to_numpy(), expected, rtol=1e-5)
    assert found.iloc[0]["id"] == ids[int(np.argmax(vectors @ query[0]))]


def test_search_cli_reads_questions_from_arguments_and_files(indexed, tiny_model_dir, tmp_path, capsys):
    root, aligned, params = indexed
    questions = tmp_path / "q.txt"
    questions.write_text("Wo ist der größte Hafen Kenias?\n\nIs the port large?\n")
    args = ["search", "--run", "zeroshot", "--dataset", "xquad-r", "--model", str(tiny_model_dir), "--index",
            str(root / "index"), "--aligned", str(aligned), "--k", "3", "--params", str(params)]
    assert cli([*args, "--file", str(questions), "--json", "Which port is in Kenya?"]) == 0
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines() if l.strip()]
    assert [l["question"] for l in lines] == ["Which port is in Kenya?", "Wo ist der größte Hafen Kenias?",
                                              "Is the port large?"]
    assert all(len(l["hits"]) == 3 for l in lines)
    assert cli(args) == 2
    assert "no question" in capsys.readouterr().err


def test_index_stores_its_search_settings(indexed, tmp_path):
    root, _, _ = indexed
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"index": {"factory": "HNSW8", "hnsw_ef_search": 7}}))
    assert cli(["index", "--embeddings", str(root / "emb"), "--out", str(tmp_path / "hnsw"), "--params", str(params)]) == 0
    import faiss

    index = faiss.downcast_index(load_index(tmp_path / "hnsw" / "candidates.faiss"))
    assert index.hnsw.efSearch == 7
    meta = json.loads((tmp_path / "hnsw" / "meta.json").read_text())
    assert meta["search"]["hnsw_ef_search"] == 7 and "seconds" not in json.dumps(meta)


def test_a_truncated_npy_is_a_clear_error_for_index(indexed, tmp_path, capsys):
    root, _, params = indexed
    emb = tmp_path / "emb"
    emb.mkdir()
    for f in (root / "emb").iterdir():
        (emb / f.name).write_bytes(f.read_bytes())
    (emb / "candidates.npy").write_bytes((root / "emb" / "candidates.npy").read_bytes()[:90])
    assert cli(["index", "--embeddings", str(emb), "--out", str(tmp_path / "idx"), "--params", str(params)]) == 2
    err = capsys.readouterr().err
    assert "candidates.npy: not a readable .npy array" in err and "Traceback" not in err
    assert not (tmp_path / "idx").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_an_unwritable_output_folder_is_a_clear_error(indexed, tmp_path, capsys):
    root, aligned, params = indexed
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert cli(["index", "--embeddings", str(root / "emb"), "--out", str(locked / "idx"), "--params", str(params)]) == 2
    finally:
        locked.chmod(0o700)
    err = capsys.readouterr().err
    assert "cannot be written" in err and str(locked) in err and "Traceback" not in err


def test_export_writes_the_model_and_its_card(tiny_model_dir, tmp_path):
    model = tmp_path / "model"
    Encoder.load(tiny_model_dir, EncoderSettings()).save(model)
    report = tmp_path / "report"
    report.mkdir()
    pd.DataFrame([{"run": "hybrid-s1", "config": "hybrid", "seed": 1, "mo_map": 0.7, "cr_map": 0.6, "mul_map": 0.55,
                   "rank_distance": 300.0}]).to_csv(report / "xquad-r_per_run.csv", index=False)
    pd.DataFrame([{"run": "hybrid", "metric": "mul_map", "value": 0.56, "ci_low": 0.54, "ci_high": 0.58, "n_seeds": 3,
                   "group": "all"}]).to_csv(report / "xquad-r_runs.csv", index=False)
    params = validate_params({"grid": {"runs": {"hybrid": {"sampling": "hybrid", "alpha": 0.5}}, "seeds": [1],
                                       "datasets": ["xquad-r"]}})
    export.run(params, "hybrid-s1", model, report, tmp_path / "out")
    card = (tmp_path / "out" / "README.md").read_text()
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["base_model"] == "intfloat/multilingual-e5-small" and meta["license"] == "cc-by-nc-4.0"
    assert meta["library_name"] == "sentence-transformers" and "hybrid" in meta["tags"]
    metrics = {m["name"]: m["value"] for m in meta["model-index"][0]["results"][0]["metrics"]}
    assert metrics["Mul. mAP"] == 0.55 and metrics["Mul. mAP, mean of 3 seeds"] == 0.56
    assert "[0.540, 0.580]" in card and "alpha = 0.5" in card and "hf upload" in card
    assert (tmp_path / "out" / "modules.json").exists() and (tmp_path / "out" / "1_Pooling" / "config.json").exists()
    from sentence_transformers import SentenceTransformer

    vectors = SentenceTransformer(str(tmp_path / "out"), device="cpu").encode(["Mombasa"], prompt_name="passage")
    assert vectors.shape == (1, 32)
    with pytest.raises(Exception, match="zero-shot run is the base model"):
        export.run(validate_params({}), "zeroshot", model, report, tmp_path / "z")


@pytest.mark.parametrize("stage", ["index", "split", "download"])
def test_permission_errors_name_the_path_without_a_traceback(indexed, tmp_path, capsys, monkeypatch, stage):
    """What an unwritable output folder raises (mkstemp/mkdtemp: PermissionError), simulated
    so that it also fails for root."""
    import tempfile

    root, aligned, params = indexed

    def refuse(*args, dir=None, **kwargs):
        raise PermissionError(13, "Permission denied", str(dir))

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    argv = {"index": ["index", "--embeddings", str(root / "emb"), "--out", str(tmp_path / "o" / "idx")],
            "split": ["split", "--dataset", "mlqa-r", "--aligned", str(aligned), "--out", str(tmp_path / "o" / "s"),
                      "--heldout", str(tmp_path / "o" / "h")],
            "download": ["download", "--dataset", "xquad-r", "--out", str(tmp_path / "o" / "raw")]}[stage]
    assert cli([*argv, "--params", str(params)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'o'}" in err and "cannot be written" in err and "Traceback" not in err
