"""Benchmark LAReQA scoring: mixbatch's exact full-ranking Mul. mAP vs the XTREME reference
loop (per question: scores against the whole pool, sklearn average_precision_score), side
by side in one run on the full XQuAD-R Mul. setting (13,090 questions x 13,014 candidates).

Embeddings: --embeddings results/embeddings/<run>/xquad-r (real vectors) or, without it,
random unit vectors of --dim on the real XQuAD-R tables and qrels. Writes
benchmarks/out/score/results.json. Numbers go into notes as ratios, never into tests.

mixbatch side: rank_all + per-question AP. Timed apart: kernel_load_s, the process's
first call on a tiny input of the same dtype (numba imports its compiler and loads the
compiled kernels from its on-disk cache, or compiles them on a machine's first run:
once per process, like an import); then cold (the first call on the real data) and
warm (median of --repeats further calls). Speedups are given for both, and for cold +
kernel load. Reference side: the loop in float64 (the scores mixbatch ranks by, so the APs must agree to ~1e-16) and in
float32 (the dtype the embeddings are stored in: a cheaper GEMV per question, so the
harder baseline). Run it on an otherwise idle machine: the two sides use cores
differently (mixbatch one scoring thread per core, the reference loop mostly one).

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

from mixbatch.metrics.lareqa import LareqaInputs, rank_all
from mixbatch.metrics.ranking import per_question_metrics
from mixbatch.retrieval.tables import lareqa_qrel_rows, load_embeddings, load_sides


def relevant_lists(qrel_rows: np.ndarray, n_questions: int) -> list[np.ndarray]:
    """Per question row, the sorted unique candidate rows relevant to it."""
    order = np.lexsort((qrel_rows[:, 1], qrel_rows[:, 0]))
    pairs = np.unique(qrel_rows[order], axis=0)
    splits = np.searchsorted(pairs[:, 0], np.arange(n_questions + 1))
    return [pairs[splits[i] : splits[i + 1], 1] for i in range(n_questions)]


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
    ap.add_argument("--block-size", type=int, default=512, help="questions per score block")
    ap.add_argument("--repeats", type=int, default=3, help="warm mixbatch calls (the median is reported)")
    ap.add_argument(
        "--reference-dtypes", nargs="+", default=["float64", "float32"], choices=["float64", "float32"],
        help="embedding dtypes the reference loop runs on (each is timed)",
    )
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/score/results.json"))
    args = ap.parse_args()

    sides = load_sides("xquad-r", args.aligned)
    qs, cs = sides["questions"], sides["candidates"]
    if args.embeddings:
        q = load_embeddings(args.embeddings, "questions", qs.ids, "qid")  # as stored, as `mixbatch score` does
        c = load_embeddings(args.embeddings, "candidates", cs.ids, "cid")
    else:
        rng = np.random.default_rng(0)
        q, c = rng.normal(size=(len(qs.ids), args.dim)), rng.normal(size=(len(cs.ids), args.dim))
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        c /= np.linalg.norm(c, axis=1, keepdims=True)
        q, c = q.astype(np.float32), c.astype(np.float32)  # stored as encode writes them
    pairs = lareqa_qrel_rows(args.aligned, qs.ids, cs.ids)
    inp = LareqaInputs(q, c, np.asarray(qs.lang), np.asarray(cs.lang), pairs)

    def mixbatch_ap() -> tuple[np.ndarray, float]:
        start = time.perf_counter()
        (rank, prec), _ = rank_all(inp, block_size=args.block_size, per_language=False)
        return per_question_metrics(rank, prec)["ap"], time.perf_counter() - start

    start = time.perf_counter()  # once per process: numba imports its compiler, loads the kernels
    eye = np.eye(2, dtype=q.dtype)  # the real data's dtype: numba loads one kernel per dtype
    tiny = LareqaInputs(eye, eye, np.array(["a", "b"]), np.array(["a", "b"]), np.array([(0, 0), (1, 1)]))
    rank_all(tiny)
    t_load = time.perf_counter() - start
    fast, t_cold = mixbatch_ap()
    t_warm = float(np.median([mixbatch_ap()[1] for _ in range(args.repeats)]))

    result = {
        "questions": len(q), "candidates": len(c), "dim": int(q.shape[1]),
        "embeddings": str(args.embeddings or f"random (dim {args.dim})"),
        "block_size": args.block_size, "kernel_load_s": round(t_load, 3),
        "mixbatch_cold_s": round(t_cold, 3), "mixbatch_warm_s": round(t_warm, 3),
        "map_mixbatch": float(fast.mean()),
    }
    for dtype in args.reference_dtypes:
        start = time.perf_counter()
        ref = reference_map(q.astype(dtype), c.astype(dtype), relevant_lists(pairs, len(q)))
        t_ref = time.perf_counter() - start
        result[f"sklearn_loop_{dtype}_s"] = round(t_ref, 2)
        result[f"speedup_cold_vs_{dtype}"] = round(t_ref / t_cold, 1)
        result[f"speedup_warm_vs_{dtype}"] = round(t_ref / t_warm, 1)
        result[f"speedup_cold_with_load_vs_{dtype}"] = round(t_ref / (t_cold + t_load), 1)
        result[f"map_sklearn_{dtype}"] = float(ref.mean())
        result[f"max_abs_ap_diff_{dtype}"] = float(np.abs(fast - ref).max())
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
