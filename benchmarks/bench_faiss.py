"""Benchmark FAISS: exact inner-product search (Flat) against HNSW and IVF indexes.

--embeddings DIR: on real embeddings (the index stage's input, e.g.
results/embeddings/hybrid-s13/xquad-r): the candidates are the pool, the questions the
queries; recall@10 of HNSW32 (efSearch 64/128) and IVF256,Flat (nprobe 8/16) against the
exact top 10, and query time against Flat's, measured in one run.

Otherwise at scale: a synthetic pool of --n unit vectors of --dim (default 1M x 384) with --queries queries (default 10k):
build time, query time for all queries, and HNSW recall@10 against the exact top 10
(exact search runs on the first --exact-queries queries; its time is scaled up linearly).

The pool is clustered (a mixture of --clusters Gaussians, like real sentence embeddings)
rather than isotropic noise, on which no graph index does well; queries are noisy copies
of pool vectors. Writes benchmarks/out/faiss/results.json. Numbers go into notes as
ratios, never into tests. Memory: the pool is n x dim x 4 bytes (1.5 GiB by default),
held once by numpy and once per index.

    flock /tmp/mixbatch-heavy.lock .venv/bin/python benchmarks/bench_faiss.py
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import faiss
import numpy as np

from mixbatch.retrieval.index import build_index, search, set_search_params


def synthetic(n: int, dim: int, clusters: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.standard_normal((clusters, dim), dtype=np.float32)
    x = np.empty((n, dim), dtype=np.float32)
    step = 100_000  # fill in chunks to keep temporaries small
    for a in range(0, n, step):
        b = min(n, a + step)
        x[a:b] = centres[rng.integers(0, clusters, b - a)] + 0.6 * rng.standard_normal((b - a, dim), dtype=np.float32)
    faiss.normalize_L2(x)
    return x


def real(folder: Path, out: Path) -> None:
    """Recall@10 and speed of HNSW and IVF against Flat on a run's real embeddings."""
    pool = np.ascontiguousarray(np.load(folder / "candidates.npy"), dtype=np.float32)
    queries = np.ascontiguousarray(np.load(folder / "questions.npy"), dtype=np.float32)
    result = {"embeddings": str(folder), "n": len(pool), "queries": len(queries), "threads": faiss.omp_get_max_threads()}
    flat = build_index(pool, "Flat")
    t = time.perf_counter()
    _, exact = search(flat, queries, 10)
    result["flat_query_s"] = round(time.perf_counter() - t, 3)
    for factory, knob, values in (("HNSW32", "ef_search", (64, 128)), ("IVF256,Flat", "nprobe", (8, 16))):
        t = time.perf_counter()
        index = build_index(pool, factory, seed=0)
        result[f"{factory} build_s"] = round(time.perf_counter() - t, 2)
        for value in values:
            set_search_params(index, ef_search=value if knob == "ef_search" else 16, nprobe=value if knob == "nprobe" else 1)
            t = time.perf_counter()
            _, approx = search(index, queries, 10)
            seconds = time.perf_counter() - t
            recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact)])
            result[f"{factory} {knob}={value}"] = {"recall@10": round(float(recall), 4), "query_s": round(seconds, 3),
                                                  "speedup_vs_flat": round(result["flat_query_s"] / seconds, 2)}
    print(json.dumps(result, indent=2))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--embeddings", type=Path, default=None, help="a run's embeddings folder: real vectors instead")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--clusters", type=int, default=2000)
    ap.add_argument("--ef-search", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--exact-queries", type=int, default=2000,
                    help="queries that get exact (Flat) search: its time is scaled to --queries, recall is over these")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/faiss/results.json"))
    args = ap.parse_args()
    if args.embeddings is not None:
        return real(args.embeddings, args.out.with_name("real.json"))

    rng = np.random.default_rng(0)
    pool = synthetic(args.n, args.dim, args.clusters, rng)
    queries = pool[rng.integers(0, args.n, args.queries)] + 0.05 * rng.standard_normal((args.queries, args.dim), dtype=np.float32)
    faiss.normalize_L2(queries)
    result = {"n": args.n, "dim": args.dim, "queries": args.queries, "threads": faiss.omp_get_max_threads()}

    t = time.perf_counter()
    flat = build_index(pool, "Flat")
    result["flat_build_s"] = round(time.perf_counter() - t, 2)
    n_exact = min(args.exact_queries, args.queries)
    t = time.perf_counter()
    _, exact = search(flat, queries[:n_exact], 10)
    # exact search is linear in the number of queries: scale the measured part up
    result["flat_query_s"] = round((time.perf_counter() - t) * args.queries / n_exact, 2)
    result["flat_query_s_measured_on"] = n_exact
    del flat

    t = time.perf_counter()
    hnsw = build_index(pool, "HNSW32")
    result["hnsw_build_s"] = round(time.perf_counter() - t, 2)
    result["hnsw"] = {}
    for ef in args.ef_search:
        set_search_params(hnsw, ef_search=ef, nprobe=1)
        t = time.perf_counter()
        _, approx = search(hnsw, queries, 10)
        seconds = time.perf_counter() - t
        recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx[:n_exact], exact)])
        result["hnsw"][f"efSearch={ef}"] = {
            "query_s": round(seconds, 2), "recall@10": round(float(recall), 4),
            "speedup_vs_flat": round(result["flat_query_s"] / seconds, 1),
        }
        print(json.dumps(result), flush=True)
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
