"""Benchmark LAReQA scoring: mixbatch's exact full-ranking Mul. mAP vs the XTREME reference
loop (per question: scores against the whole pool, sklearn average_precision_score), side
by side in one run on the full XQuAD-R Mul. setting (13,090 questions x 13,014 candidates).

Embeddings: --embeddings results/embeddings/<run>/xquad-r (real vectors) or, without it,
random unit vectors of --dim on the real XQuAD-R tables and qrels. Writes
benchmarks/out/score/results.json. Numbers go into notes as ratios, never into tests.
mixbatch's time is one cold call of rank_all (float32 sgemm on one BLAS thread in a
worker, exact counting in the main thread; see metrics.lareqa.rank_all); run it on an
otherwise idle machine where possible, as the two sides use cores differently.

    flock /tmp/mixbatch-heavy.lock .venv/bin/python benchmarks/bench_score.py \
        --aligned data/aligned/xquad-r [--embeddings results/embeddings/zeroshot/xquad-r]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

from mixbatch.metrics.lareqa import LareqaInputs, _relevant_lists, rank_all
from mixbatch.metrics.ranking import per_question_metrics
from mixbatch.retrieval.tables import lareqa_qrel_rows, load_embeddings, load_sides


def reference_map(questions: np.ndarray, candidates: np.ndarray, relevant: list[np.ndarray]) -> np.ndarray:
    """XTREME utils_lareqa.mean_avg_prec, restated: one question at a time."""
    aps = np.empty(len(questions))
    for i, q in enumerate(questions):
        scores = candidates @ q
        y_true = np.zeros(len(candidates))
        y_true[relevant[i]] = 1
        aps[i] = average_precision_score(y_true, scores)
    return aps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--aligned", type=Path, default=Path("data/aligned/xquad-r"))
    ap.add_argument("--embeddings", type=Path, default=None)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--block-size", type=int, default=256, help="questions per score block")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/score/results.json"))
    args = ap.parse_args()

    sides = load_sides("xquad-r", args.aligned)
    qs, cs = sides["questions"], sides["candidates"]
    if args.embeddings:
        q = load_embeddings(args.embeddings, "questions", qs.ids, "qid").astype(np.float64)
        c = load_embeddings(args.embeddings, "candidates", cs.ids, "cid").astype(np.float64)
    else:
        rng = np.random.default_rng(0)
        q, c = rng.normal(size=(len(qs.ids), args.dim)), rng.normal(size=(len(cs.ids), args.dim))
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        c /= np.linalg.norm(c, axis=1, keepdims=True)
    pairs = lareqa_qrel_rows(args.aligned, qs.ids, cs.ids)
    inp = LareqaInputs(q, c, np.asarray(qs.lang), np.asarray(cs.lang), pairs)

    start = time.perf_counter()
    (rank, prec), _ = rank_all(inp, block_size=args.block_size, per_language=False)
    fast = per_question_metrics(rank, prec)["ap"]
    t_fast = time.perf_counter() - start

    start = time.perf_counter()
    ref = reference_map(q, c, _relevant_lists(pairs, len(q)))
    t_ref = time.perf_counter() - start

    result = {
        "questions": len(q), "candidates": len(c), "dim": int(q.shape[1]),
        "embeddings": str(args.embeddings or f"random (dim {args.dim})"),
        "block_size": args.block_size, "mixbatch_s": round(t_fast, 2),
        "sklearn_loop_s": round(t_ref, 2), "speedup": round(t_ref / t_fast, 1),
        "map_mixbatch": float(fast.mean()), "map_sklearn": float(ref.mean()),
        "max_abs_ap_diff": float(np.abs(fast - ref).max()),
    }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
