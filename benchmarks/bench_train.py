"""Training throughput and peak memory: mixbatch's trainer step vs sentence-transformers'
MultipleNegativesRankingLoss training (SentenceTransformerTrainer), same model, same
batches, same max length, same frozen-embedding setting, measured in one run.

    flock /tmp/mixbatch-heavy.lock .venv/bin/python benchmarks/bench_train.py \
        --model data/models/base --shards data/shards/hybrid --steps 12

Each implementation runs in its own subprocess (so peak RSS is its own). Prints
pairs/s, peak RSS and the ratio mixbatch / sentence-transformers. Needs the `bench`
extra (pip install -e '.[bench]').
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def load_pairs(shards: Path, steps: int, batch_size: int) -> tuple[list[str], list[str], list[str]]:
    from mixbatch.train.shards import iter_batches

    q, p, ids = [], [], []
    for batch in iter_batches(shards):
        if len(batch) != batch_size:
            continue  # full batches only, so both sides see identical batches
        q += batch.queries
        p += batch.positives
        ids += batch.xling_ids
        if len(q) >= steps * batch_size:
            break
    return q, p, ids


def run_mixbatch(model_dir, q, p, ids, bs, max_len, freeze, bucket):
    import torch

    from mixbatch.model.encoder import Encoder, EncoderSettings
    from mixbatch.model.loss import contrastive_step, id_codes
    from mixbatch.train.loop import build_optimizer

    enc = Encoder.load(model_dir, EncoderSettings(query_max_length=max_len, passage_max_length=max_len))
    if freeze:
        enc.freeze_word_embeddings()
    enc.train()
    steps = len(q) // bs
    train = {"lr": 3e-5, "weight_decay": 0.01, "warmup_ratio": 0.1}
    opt, sched = build_optimizer(enc.model, train, steps)
    params = [x for x in enc.parameters() if x.requires_grad]
    t0 = time.perf_counter()
    for s in range(steps):
        a, b = s * bs, (s + 1) * bs
        sides = [enc.tokenize(q[a:b], "query"), enc.tokenize(p[a:b], "passage")]
        opt.zero_grad(set_to_none=True)
        contrastive_step(enc.embed, sides, id_codes(ids[a:b]), 0.05, bucket_size=bucket)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
    return time.perf_counter() - t0


def run_st(model_dir, q, p, ids, bs, max_len, freeze, bucket):
    import tempfile

    from datasets import Dataset
    from sentence_transformers import (SentenceTransformer, SentenceTransformerTrainer,
                                       SentenceTransformerTrainingArguments)
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    transformer = Transformer(str(model_dir), max_seq_length=max_len)
    model = SentenceTransformer(modules=[transformer, Pooling(transformer.get_embedding_dimension(), "mean"), Normalize()])
    if freeze:
        model[0].auto_model.get_input_embeddings().weight.requires_grad_(False)
    data = Dataset.from_dict({"anchor": ["query: " + t for t in q], "positive": ["passage: " + t for t in p]})
    with tempfile.TemporaryDirectory() as out:
        args = SentenceTransformerTrainingArguments(
            output_dir=out, per_device_train_batch_size=bs, max_steps=len(q) // bs, learning_rate=3e-5,
            warmup_ratio=0.1, weight_decay=0.01, max_grad_norm=1.0, save_strategy="no", report_to=[],
            logging_steps=10_000, dataloader_drop_last=True, seed=13, use_cpu=True)
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data,
                                             loss=MultipleNegativesRankingLoss(model, scale=20.0))
        t0 = time.perf_counter()
        trainer.train()
        return time.perf_counter() - t0


def child(args) -> None:
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(13)
    q, p, ids = load_pairs(args.shards, args.steps, args.batch_size)
    fn = run_mixbatch if args.impl == "mixbatch" else run_st
    seconds = fn(args.model, q, p, ids, args.batch_size, args.max_length, not args.no_freeze, args.bucket_size)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"impl": args.impl, "pairs": len(q), "seconds": seconds,
                      "pairs_per_s": len(q) / seconds, "peak_rss_mb": peak_mb}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("data/models/base"))
    ap.add_argument("--shards", type=Path, default=Path("data/shards/hybrid"))
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bucket-size", type=int, default=8, help="mixbatch train.length_bucket_size (0 = off)")
    ap.add_argument("--no-freeze", action="store_true", help="train the word embeddings too")
    ap.add_argument("--impl", choices=["mixbatch", "st"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.impl:
        return child(args)
    results = {}
    for impl in ("mixbatch", "st"):
        cmd = [sys.executable, __file__, "--impl", impl, *sys.argv[1:]]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"{impl} failed:\n{out.stderr[-3000:]}")
        results[impl] = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(results[impl]))
    m, s = results["mixbatch"], results["st"]
    print(f"throughput ratio mixbatch / sentence-transformers: {m['pairs_per_s'] / s['pairs_per_s']:.2f}x; "
          f"peak RSS {m['peak_rss_mb']:.0f} MB vs {s['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
