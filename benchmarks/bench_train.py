"""Training throughput and peak memory: mixbatch's training step (train.precision auto, the
params.yaml settings) against sentence-transformers' MultipleNegativesRankingLoss training
(SentenceTransformerTrainer) in fp32 and in its documented bf16 mode
(SentenceTransformerTrainingArguments(bf16=True): autocast), measured in one run on the
same batches, model, max length and frozen word embeddings.

    .venv/bin/python benchmarks/bench_train.py --model data/models/base --shards data/shards/hybrid-s13

Each implementation runs in its own subprocess (its own peak RSS), after --warmup steps
that are not timed (kernel set-up: oneDNN builds a kernel per new matrix shape). Prints
what the CPU has (bf16 units decide `auto`), pairs/s, peak RSS and the ratios; writes
benchmarks/out/train/results.json. Needs the `bench` extra (pip install -e '.[bench]').
Never run it beside another heavy job.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

IMPLS = ("mixbatch", "mixbatch-dropout0.1", "st-fp32", "st-bf16")


def load_pairs(shards: Path, n_batches: int, batch_size: int) -> tuple[list[str], list[str], list[str]]:
    from mixbatch.train.shards import iter_batches

    q, p, ids = [], [], []
    for batch in iter_batches(shards):
        if len(batch) != batch_size:
            continue  # full batches only, so every implementation sees identical batches
        q, p, ids = q + batch.queries, p + batch.positives, ids + batch.xling_ids
        if len(q) >= n_batches * batch_size:
            break
    return q, p, ids


def run_mixbatch(args, q, p, ids, dropout_override=None) -> float:
    """Seconds for the timed steps of mixbatch's Trainer.train_step (no validation)."""
    import tempfile

    import torch

    from mixbatch.config import load_params
    from mixbatch.train.loop import Paths, Trainer
    from mixbatch.train.shards import Batch

    params = load_params(args.params)
    train = {**params["train"], "max_steps": 0, "eval_every": 0}
    if dropout_override is not None:
        train["dropout"] = dropout_override
    model = {**params["model"], "query_max_length": args.max_length, "passage_max_length": args.max_length}
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(Paths(args.model, args.shards, None, Path(tmp) / "m", Path(tmp) / "log.csv", Path(tmp) / "c"),
                          model, train, 13)
        print(f"mixbatch precision: {trainer.precision.name} ({trainer.precision.reason})", file=sys.stderr)
        bs = args.batch_size
        batches = [Batch(i, "bench", ids[i * bs:(i + 1) * bs], q[i * bs:(i + 1) * bs], p[i * bs:(i + 1) * bs], None, None)
                   for i in range(len(q) // bs)]
        for b in batches[:args.warmup]:
            trainer.train_step(b)
        t0 = time.perf_counter()
        for b in batches[args.warmup:]:
            trainer.train_step(b)
        del torch
        return time.perf_counter() - t0


def run_st(args, q, p, ids, bf16: bool) -> float:
    import tempfile

    from datasets import Dataset
    from sentence_transformers import (SentenceTransformer, SentenceTransformerTrainer,
                                       SentenceTransformerTrainingArguments)
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import TrainerCallback

    transformer = Transformer(str(args.model), max_seq_length=args.max_length, model_kwargs={"add_pooling_layer": False})
    model = SentenceTransformer(modules=[transformer, Pooling(transformer.get_embedding_dimension(), "mean"), Normalize()])
    model[0].auto_model.get_input_embeddings().weight.requires_grad_(False)
    data = Dataset.from_dict({"anchor": ["query: " + t for t in q], "positive": ["passage: " + t for t in p]})
    marks = []

    class Clock(TrainerCallback):
        def on_step_end(self, *a, **k):
            marks.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as out:
        targs = SentenceTransformerTrainingArguments(
            output_dir=out, per_device_train_batch_size=args.batch_size, max_steps=len(q) // args.batch_size,
            learning_rate=3e-5, warmup_ratio=0.1, weight_decay=0.01, max_grad_norm=1.0, save_strategy="no",
            report_to=[], logging_steps=10_000, dataloader_drop_last=True, seed=13, use_cpu=True, bf16=bf16)
        trainer = SentenceTransformerTrainer(model=model, args=targs, train_dataset=data,
                                             loss=MultipleNegativesRankingLoss(model, scale=20.0), callbacks=[Clock()])
        trainer.train()
    return marks[-1] - marks[args.warmup - 1]  # the steps after the warm-up ones


def child(args) -> None:
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(13)
    q, p, ids = load_pairs(args.shards, args.steps + args.warmup, args.batch_size)
    if args.impl == "mixbatch":
        seconds = run_mixbatch(args, q, p, ids)
    elif args.impl == "mixbatch-dropout0.1":
        seconds = run_mixbatch(args, q, p, ids, dropout_override=0.1)
    else:
        seconds = run_st(args, q, p, ids, bf16=args.impl == "st-bf16")
    timed_pairs = args.steps * args.batch_size
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"impl": args.impl, "pairs": timed_pairs, "seconds": round(seconds, 2),
                      "pairs_per_s": round(timed_pairs / seconds, 2), "peak_rss_mb": round(peak_mb)}))


def cpu_bf16() -> str:
    from mixbatch.model.precision import cpu_flags, native_bf16

    import torch

    ok, what = native_bf16(torch.device("cpu"))
    return f"{platform.processor() or platform.machine()}; {what}; flags: " + \
        " ".join(sorted(f for f in cpu_flags() if "bf16" in f or f.startswith("amx")))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("data/models/base"))
    ap.add_argument("--shards", type=Path, default=Path("data/shards/hybrid-s13"))
    ap.add_argument("--params", type=Path, default=Path("params.yaml"))
    ap.add_argument("--steps", type=int, default=16, help="timed steps")
    ap.add_argument("--warmup", type=int, default=8, help="untimed steps first")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--impl", choices=IMPLS, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/train/results.json"))
    args = ap.parse_args()
    if args.impl:
        return child(args)
    results = {"cpu": cpu_bf16(), "threads": args.threads, "batch_size": args.batch_size, "steps": args.steps}
    print(results["cpu"])
    for impl in IMPLS:
        cmd = [sys.executable, __file__, "--impl", impl, *sys.argv[1:]]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"{impl} failed:\n{out.stderr[-3000:]}")
        results[impl] = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(results[impl]), flush=True)
    m = results["mixbatch"]["pairs_per_s"]
    results["ratios"] = {f"mixbatch / {k}": round(m / results[k]["pairs_per_s"], 2)
                         for k in ("st-fp32", "st-bf16", "mixbatch-dropout0.1")}
    results["ratios"]["mixbatch-dropout0.1 / st-fp32"] = round(
        results["mixbatch-dropout0.1"]["pairs_per_s"] / results["st-fp32"]["pairs_per_s"], 2)
    print(json.dumps(results["ratios"], indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
