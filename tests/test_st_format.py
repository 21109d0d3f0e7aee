"""Every folder Encoder.save writes is a sentence-transformers folder that embeds like mixbatch."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pytest

from mixbatch.errors import MixbatchError
from mixbatch.model.encoder import Encoder, EncoderSettings
from mixbatch.model.st_format import ST_FILES, write_sentence_transformers_files
from mixbatch.retrieval.encode import encode_texts

SHORT = ["Where is the largest port in Kenya?", "Hafen", "肯尼亚最大的港口在哪里？",
         "Где находится крупнейший порт Кении?", "Kenya'nın en büyük limanı nerede?"]
LONG = "Πού βρίσκεται το μεγαλύτερο λιμάνι της Κένυας; " * 4  # over query_max_length tokens
SETTINGS = EncoderSettings(query_max_length=32, passage_max_length=64)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module", params=["mean", "cls"])
def saved(request, tiny_model_dir, tmp_path_factory):
    """(mixbatch Encoder, SentenceTransformer) of one saved folder, per pooling."""
    st = pytest.importorskip("sentence_transformers")
    encoder = Encoder.load(tiny_model_dir, dataclasses.replace(SETTINGS, pooling=request.param))
    folder = tmp_path_factory.mktemp(f"st_{request.param}")
    encoder.save(folder)
    return encoder, st.SentenceTransformer(str(folder), device="cpu"), folder


def test_texts_fit_the_query_max_length(saved):
    encoder, _, _ = saved
    lengths = [len(encoder.tokenizer("query: " + t)["input_ids"]) for t in SHORT + [LONG]]
    assert max(lengths[:-1]) <= SETTINGS.query_max_length < lengths[-1]


@pytest.mark.parametrize("side", ["query", "passage"])
def test_st_encode_with_prompt_name_equals_mixbatch(saved, side):
    encoder, model, _ = saved
    ours = encode_texts(encoder, SHORT, side)
    theirs = model.encode(SHORT, prompt_name=side)
    assert theirs.shape == ours.shape
    assert cosines(ours, theirs).min() >= 0.9999
    assert np.allclose(np.linalg.norm(theirs, axis=1), 1.0, atol=1e-5)  # Normalize module


def test_encode_query_and_document_truncate_like_mixbatch(saved):
    encoder, model, _ = saved
    texts = SHORT + [LONG]
    assert cosines(encode_texts(encoder, texts, "query"), model.encode_query(texts)).min() >= 0.9999
    assert cosines(encode_texts(encoder, texts, "passage"), model.encode_document(texts)).min() >= 0.9999


def test_plain_encode_truncates_queries_at_the_larger_max_length(saved):
    """The documented difference: encode(prompt_name="query") has one max length."""
    encoder, model, _ = saved
    assert model.max_seq_length == SETTINGS.passage_max_length
    wider = Encoder(encoder.model, encoder.tokenizer,
                    dataclasses.replace(encoder.settings, query_max_length=SETTINGS.passage_max_length))
    assert cosines(encode_texts(wider, [LONG], "query"), model.encode([LONG], prompt_name="query")).min() >= 0.9999


def test_modules_prompts_similarity_and_no_random_pooler(saved):
    encoder, model, folder = saved
    assert [type(m).__name__ for m in model] == ["Transformer", "Pooling", "Normalize"]
    assert model[1].pooling_mode == encoder.settings.pooling and model[1].include_prompt
    assert model.prompts["query"] == "query: " and model.prompts["passage"] == "passage: "
    assert model.prompts["document"] == "passage: "  # encode_document's first choice
    assert model.default_prompt_name is None
    assert model.similarity_fn_name == "cosine"
    q, p = model.encode(SHORT[:2], prompt_name="query"), model.encode(SHORT[2:], prompt_name="passage")
    assert np.allclose(model.similarity(q, p).numpy(), q @ p.T, atol=1e-6)  # unit vectors: cosine = dot
    assert model[0].auto_model.pooler is None  # model_kwargs add_pooling_layer=False
    config = json.loads((folder / "config_sentence_transformers.json").read_text())
    assert config["similarity_fn_name"] == "cosine" and config["default_prompt_name"] is None
    assert config["__version__"]["sentence_transformers"] == "6.2.0"


def test_files_are_deterministic(tiny_model_dir, tmp_path):
    encoder = Encoder.load(tiny_model_dir, SETTINGS)
    encoder.save(tmp_path / "a")
    encoder.save(tmp_path / "b")
    for rel in ST_FILES:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    before = {rel: (tmp_path / "a" / rel).read_bytes() for rel in ST_FILES}
    write_sentence_transformers_files(tmp_path / "a", SETTINGS)  # rewrite in place
    assert {rel: (tmp_path / "a" / rel).read_bytes() for rel in ST_FILES} == before
    modules = json.loads(before["modules.json"])
    assert [m["path"] for m in modules] == ["", "1_Pooling", "2_Normalize"]
    assert json.loads(before["1_Pooling/config.json"]) == {
        "embedding_dimension": 32, "pooling_mode": "mean", "include_prompt": True}
    transformer = json.loads(before["sentence_bert_config.json"])
    assert (transformer["max_seq_length"], transformer["query_length"], transformer["document_length"]) == (64, 32, 64)
    assert transformer["model_kwargs"] == {"add_pooling_layer": False}
    assert Encoder.load(tmp_path / "a").settings == SETTINGS  # mixbatch's own files still rule


@pytest.mark.parametrize("change, message", [
    ({"pooling": "max"}, "model.pooling: 'max'; allowed: mean, cls"),
    ({"query_prefix": None}, "model.query_prefix: None; must be a string"),
    ({"passage_max_length": 0}, "model.passage_max_length: 0; must be a positive integer"),
    ({"query_max_length": "64"}, "model.query_max_length: '64'; must be a positive integer"),
])
def test_bad_settings_are_named(tiny_model_dir, tmp_path, change, message):
    with pytest.raises(MixbatchError, match=re.escape(message)):
        write_sentence_transformers_files(tiny_model_dir, dataclasses.replace(SETTINGS, **change))
    assert not (tiny_model_dir / "modules.json").exists()  # nothing written before the check


def test_pooler_rule_is_encoder_loads():
    from mixbatch.model import encoder, st_format

    assert st_format.POOLER_MODEL_TYPES == encoder._POOLER_MODELS


def test_not_settings_or_not_a_model_folder(tiny_model_dir, tmp_path):
    with pytest.raises(MixbatchError, match="missing pooling, query_prefix"):
        write_sentence_transformers_files(tiny_model_dir, {"pooling": "mean"})
    with pytest.raises(MixbatchError, match="no config.json"):
        write_sentence_transformers_files(tmp_path, SETTINGS)
