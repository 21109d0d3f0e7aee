"""Shared fixtures: a tiny random BERT encoder with a tokenizer trained in the test session."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# Enough multilingual text for a small tokenizer to cover every script the tests use.
TOKENIZER_CORPUS = [
    "Where is the largest port in Kenya?", "Bandari kubwa nchini Kenya iko wapi?",
    "Wo ist der größte Hafen Kenias?", "¿Dónde está el puerto más grande de Kenia?",
    "Где находится крупнейший порт Кении?", "肯尼亚最大的港口在哪里？", "केन्या का सबसे बड़ा बंदरगाह कहाँ है?",
    "أين يقع أكبر ميناء في كينيا؟", "Cảng lớn nhất Kenya ở đâu?", "ท่าเรือที่ใหญ่ที่สุดในเคนยาอยู่ที่ไหน",
    "Kenya'nın en büyük limanı nerede?", "Πού βρίσκεται το μεγαλύτερο λιμάνι της Κένυας;",
    "query: passage: The port of Mombasa is the largest in Kenya.",
] * 4


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BertModel (hidden 32) saved as a Hugging Face folder."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_model")
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=400, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    )
    tok.train_from_iterator(TOKENIZER_CORPUS, trainer=trainer)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=128,
    )
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ../shared/data mirror; tests that need it skip where it is absent."""
    if not (SHARED_DATA / "SHA256SUMS").exists():
        pytest.skip(f"data mirror not found at {SHARED_DATA}")
    return SHARED_DATA
