"""Benchmark encoding: mixbatch's eval loop (tokenise once, length-sorted batches padded to
the batch's longest, inference_mode) vs sentence-transformers' `encode` on the same model
folder (mean pooling, normalised), texts, prefixes, max length and batch size.

Texts: the first --n XQuAD-R candidate sentences (real lengths, several scripts), with
the "passage: " prefix. sentence-transformers comes from the `bench` extra
(pip install -e '.[bench]'). Both run once untimed on a few texts first (warm-up), then
alternate --repeats times; the best time of each counts. Writes
benchmarks/out/encode/results.json. Numbers go into notes as ratios, never into tests.

    flock /tmp/mixbatch-heavy.lock .venv/bin/python benchmarks/bench_encode.py --model data/models/base
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mixbatch.retrieval.encode import encode_texts, load_encoder, settings_from_params


def sentence_transformer(model_dir: Path, max_length: int):
    from sentence_transformers import SentenceTransformer, models

    word = models.Transformer(str(model_dir), max_seq_length=max_length)
    pool = models.Pooling(word.get_word_embedding_dimension(), pooling_mode="mean")
    return SentenceTransformer(modules=[word, pool], device="cpu")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("data/models/base"))
    ap.add_argument("--aligned", type=Path, default=Path("data/aligned/xquad-r"))
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/encode/results.json"))
    args = ap.parse_args()

    cands = pd.read_parquet(args.aligned / "candidates.parquet")
    # every language, not only the first in file order: scripts tokenise differently
    texts = cands.groupby("lang").head(args.n // cands["lang"].nunique() + 1)["sentence"].tolist()[: args.n]
    prefix = "passage: "
    settings = settings_from_params({"passage_max_length": args.max_length})
    encoder = load_encoder(args.model, settings)
    st = sentence_transformer(args.model, args.max_length)

    def ours():
        return encode_texts(encoder, texts, "passage", args.batch_size, "bench")

    def theirs():
        return st.encode([prefix + t for t in texts], batch_size=args.batch_size, normalize_embeddings=True,
                         convert_to_numpy=True, show_progress_bar=False)

    encode_texts(encoder, texts[:8], "passage", 8)
    st.encode(texts[:8])
    times = {"mixbatch": [], "sentence_transformers": []}
    for _ in range(args.repeats):
        for name, fn in (("mixbatch", ours), ("sentence_transformers", theirs)):
            start = time.perf_counter()
            emb = fn()
            times[name].append(time.perf_counter() - start)
            if name == "mixbatch":
                a = emb
            else:
                b = emb
    best = {k: min(v) for k, v in times.items()}
    result = {
        "texts": len(texts), "batch_size": args.batch_size, "max_length": args.max_length,
        "threads": torch.get_num_threads(),
        "mixbatch_texts_per_s": round(len(texts) / best["mixbatch"], 1),
        "sentence_transformers_texts_per_s": round(len(texts) / best["sentence_transformers"], 1),
        "speedup": round(best["sentence_transformers"] / best["mixbatch"], 2),
        "min_cosine_between_the_two": float(np.min(np.sum(a * b, axis=1))),
        "times_s": {k: [round(t, 2) for t in v] for k, v in times.items()},
    }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
