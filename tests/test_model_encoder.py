"""The encoder wrapper: pooling, normalisation, prefixes, max lengths, dynamic padding, save/load."""

from __future__ import annotations

import pytest
import torch

from mixbatch.errors import MixbatchError
from mixbatch.model.encoder import Encoder, EncoderSettings, pool


def test_mean_pool_ignores_padding_and_cls_takes_first_token():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert torch.equal(pool(hidden, mask, "mean"), torch.tensor([[2.0, 3.0]]))
    assert torch.equal(pool(hidden, mask, "cls"), torch.tensor([[1.0, 2.0]]))


def test_prefixes_max_lengths_and_dynamic_padding(tiny_model_dir):
    enc = Encoder.load(tiny_model_dir, EncoderSettings(query_prefix="query: ", passage_prefix="", query_max_length=6, passage_max_length=40))
    tok = enc.tokenizer
    q = enc.tokenize(["Where is the largest port in Kenya?", "Where"], "query")
    assert q["input_ids"].shape[1] == 6  # truncated to query_max_length
    want = tok("query: Where")["input_ids"][:5]  # [CLS] + prefix pieces + ...
    assert q["input_ids"][1][:5].tolist() == want
    p = enc.tokenize(["Where", "Wo ist"], "passage")
    longest = max(len(tok("Where")["input_ids"]), len(tok("Wo ist")["input_ids"]))
    assert p["input_ids"].shape[1] == longest  # padded to the batch's longest, not the max length
    want = tok("Where")["input_ids"]
    assert p["input_ids"][0][: len(want)].tolist() == want  # empty prefix: the text alone


def test_embeddings_are_unit_length_and_padding_invariant(tiny_model_dir):
    enc = Encoder.load(tiny_model_dir, EncoderSettings())
    texts = ["Wo ist der größte Hafen Kenias?", "Hafen"]
    both = enc.encode(texts, "passage")
    alone = enc.encode(texts[1:], "passage")
    assert torch.allclose(both.norm(dim=1), torch.ones(2), atol=1e-6)
    assert torch.allclose(both[1], alone[0], atol=1e-5)  # padding does not leak into the mean


def test_settings_saved_with_the_model(tiny_model_dir, tmp_path):
    enc = Encoder.load(tiny_model_dir, EncoderSettings(pooling="cls", query_prefix="", query_max_length=9))
    enc.save(tmp_path / "m")
    again = Encoder.load(tmp_path / "m")
    assert again.settings == enc.settings
    assert torch.equal(again.encode(["Hafen"], "query"), enc.encode(["Hafen"], "query"))


def test_freeze_word_embeddings(tiny_model_dir):
    enc = Encoder.load(tiny_model_dir, EncoderSettings())
    frozen = enc.freeze_word_embeddings()
    assert frozen == enc.model.get_input_embeddings().weight.numel()
    assert not enc.model.get_input_embeddings().weight.requires_grad


def test_bad_pooling_and_missing_folder(tmp_path):
    with pytest.raises(MixbatchError, match="model.pooling"):
        EncoderSettings.from_params({"pooling": "max"})
    with pytest.raises(MixbatchError, match="prepare-model"):
        Encoder.load(tmp_path)
