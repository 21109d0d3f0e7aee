"""Precision: detected from the hardware, never assumed; bf16 embeddings agree with fp32."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mixbatch.errors import MixbatchError
from mixbatch.model import precision as P
from mixbatch.retrieval.encode import encode_texts, load_encoder, settings_from_params

CPU = torch.device("cpu")
TEXTS = ["Where is the largest port in Kenya?", "Wo ist der größte Hafen Kenias?", "肯尼亚最大的港口在哪里？",
         "The port of Mombasa is the largest in Kenya.", "Mombasa", "Kenya'nın en büyük limanı nerede?"] * 3


@pytest.mark.parametrize("flags, expected", [
    ({"avx2", "amx_bf16", "avx512_bf16"}, "bf16"),
    ({"avx512f", "avx512_bf16"}, "bf16"),
    ({"avx2", "amx_tile"}, "fp32"),
    (set(), "fp32"),
])
def test_auto_uses_bf16_only_where_the_cpu_has_native_bf16(flags, expected):
    chosen = P.resolve("auto", CPU, frozenset(flags))
    assert chosen.name == expected and chosen.reason.startswith("auto: CPU has")
    assert P.resolve("fp32", CPU, frozenset(flags)).name == "fp32"
    assert P.resolve("bf16", CPU, frozenset(flags)).dtype == torch.bfloat16  # forced, and it says why
    assert "requested" in P.resolve("bf16", CPU, frozenset(flags)).reason


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor : 0\nflags\t\t: fpu avx2 amx_bf16 avx512_bf16\n")
    assert P.cpu_flags.__wrapped__(str(info)) == frozenset({"fpu", "avx2", "amx_bf16", "avx512_bf16"})
    assert P.cpu_flags.__wrapped__(str(tmp_path / "absent")) == frozenset()


def test_unknown_precision_is_an_error():
    with pytest.raises(MixbatchError, match="precision: 'fp16' is not allowed"):
        P.resolve("fp16", CPU)


def test_bf16_embeddings_agree_with_fp32(tiny_model_dir):
    settings = settings_from_params({})
    fp32 = encode_texts(load_encoder(tiny_model_dir, settings), TEXTS, "query", batch_size=4)
    bf16 = encode_texts(load_encoder(tiny_model_dir, settings, torch.bfloat16), TEXTS, "query", batch_size=4)
    assert bf16.dtype == np.float32  # written as float32 either way
    cosine = (fp32 * bf16).sum(axis=1)
    assert cosine.min() > 0.99


def test_worker_threads_give_the_same_vectors_whatever_the_scheduling(tiny_model_dir):
    """Each batch is computed by one thread the same way, whichever worker takes it."""
    encoder = load_encoder(tiny_model_dir, settings_from_params({}))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one = encode_texts(encoder, TEXTS, "passage", batch_size=3, workers=1)
        two = encode_texts(encoder, TEXTS, "passage", batch_size=3, workers=2)
        again = encode_texts(encoder, TEXTS, "passage", batch_size=3, workers=2)
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(two, again)
