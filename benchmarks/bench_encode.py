"""Encoding throughput: mixbatch's evaluation encoder (encode.precision auto; on CPU one
batch per core, one thread each) against sentence-transformers' `encode` in fp32 and in
its documented bf16 mode (the model loaded in bfloat16: model_kwargs dtype), measured in
one run on the same model folder, texts, prefixes, max length and batch size.

Texts: XQuAD-R questions and candidate sentences, --n of each side's, all languages (real
lengths, several scripts), with their "query: " / "passage: " prefixes. Every
implementation encodes all texts once untimed (warm-up: kernels for every shape), then
--repeats times alternating; the best time counts. Prints what the CPU has, texts/s, the
ratios and the smallest cosine between mixbatch's and sentence-transformers' fp32
vectors; writes benchmarks/out/encode/results.json. Needs the `bench` extra. Never run
it beside another heavy job.

    .venv/bin/python benchmarks/bench_encode.py --model data/models/base
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mixbatch.config import load_params
from mixbatch.model import precision as P
from mixbatch.model.encoder import EncoderSettings
from mixbatch.retrieval.encode import encode_texts, load_encoder


def texts_of(aligned: Path, n: int) -> tuple[list[str], list[str]]:
    """n questions and n candidate sentences, spread over every language."""
    q = pd.read_parquet(aligned / "questions.parquet")
    c = pd.read_parquet(aligned / "candidates.parquet")
    per_lang = lambda df: n // df["lang"].nunique() + 1  # noqa: E731
    return (q.groupby("lang").head(per_lang(q))["text"].tolist()[:n],
            c.groupby("lang").head(per_lang(c))["sentence"].tolist()[:n])


def sentence_transformer(model_dir: Path, max_length: int, dtype: torch.dtype):
    from sentence_transformers import SentenceTransformer, models

    word = models.Transformer(str(model_dir), max_seq_length=max_length,
                              model_kwargs={"add_pooling_layer": False, "dtype": dtype})
    pool = models.Pooling(word.get_word_embedding_dimension(), pooling_mode="mean")
    return SentenceTransformer(modules=[word, pool, models.Normalize()], device="cpu")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("data/models/base"))
    ap.add_argument("--aligned", type=Path, default=Path("data/aligned/xquad-r"))
    ap.add_argument("--params", type=Path, default=Path("params.yaml"))
    ap.add_argument("--n", type=int, default=1024, help="texts per side (questions, candidates)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/encode/results.json"))
    args = ap.parse_args()

    questions, candidates = texts_of(args.aligned, args.n)
    settings = EncoderSettings.from_params({**load_params(args.params)["model"], "query_max_length": args.max_length,
                                            "passage_max_length": args.max_length})
    precision = P.resolve(load_params(args.params)["encode"]["precision"], torch.device("cpu"))
    ours = load_encoder(args.model, settings, precision.dtype)
    st = {"st-fp32": sentence_transformer(args.model, args.max_length, torch.float32),
          "st-bf16": sentence_transformer(args.model, args.max_length, torch.bfloat16)}

    def mixbatch() -> np.ndarray:
        torch.set_num_threads(1)  # what `mixbatch encode` does on CPU: one batch per core
        try:
            return np.vstack([encode_texts(ours, questions, "query", args.batch_size, workers=args.threads),
                              encode_texts(ours, candidates, "passage", args.batch_size, workers=args.threads)])
        finally:
            torch.set_num_threads(args.threads)

    def with_st(name: str):
        def encode() -> np.ndarray:
            model = st[name]
            return np.vstack([model.encode([settings.query_prefix + t for t in questions], batch_size=args.batch_size),
                              model.encode([settings.passage_prefix + t for t in candidates], batch_size=args.batch_size)])
        return encode

    torch.set_num_threads(args.threads)
    impls = {"mixbatch": mixbatch, "st-fp32": with_st("st-fp32"), "st-bf16": with_st("st-bf16")}
    vectors = {name: fn() for name, fn in impls.items()}  # warm-up, untimed
    times = {name: [] for name in impls}
    for _ in range(args.repeats):
        for name, fn in impls.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    n_texts = len(questions) + len(candidates)
    best = {k: min(v) for k, v in times.items()}
    ok, cpu = P.native_bf16(torch.device("cpu"))
    result = {
        "cpu": cpu, "mixbatch_precision": precision.name, "threads": args.threads, "texts": n_texts,
        "batch_size": args.batch_size, "max_length": args.max_length,
        "texts_per_s": {k: round(n_texts / v, 1) for k, v in best.items()},
        "ratios": {f"mixbatch / {k}": round(best[k] / best["mixbatch"], 2) for k in ("st-fp32", "st-bf16")},
        "min_cosine_mixbatch_vs_st_fp32": float(np.min(np.sum(vectors["mixbatch"] * vectors["st-fp32"], axis=1))),
        "times_s": {k: [round(t, 2) for t in v] for k, v in times.items()},
    }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
