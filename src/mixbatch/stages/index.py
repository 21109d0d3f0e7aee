"""Stage index: a FAISS index over one data set's pooled candidate embeddings.

In:  --embeddings results/embeddings/<run>/<dataset>/ (candidates.npy, candidates_ids.parquet).
Out: --out results/index/<run>/<dataset>/ with candidates.faiss, candidates_ids.parquet
     (row i of the index = row i of this table) and meta.json (factory, size, seconds);
     where the encoder had no corpus (MIRACL offline), only meta.json with its "skipped" status.
Params: `index` (factory, hnsw_ef_search, ivf_nprobe); `seed` for IVF training.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np

from mixbatch.config import load_params
from mixbatch.errors import MixbatchError
from mixbatch.io import atomic_dir
from mixbatch.retrieval.index import build_index, save_index
from mixbatch.stages.common import add_params_argument, set_seeds

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--embeddings", required=True, type=Path, help="results/embeddings/<run>/<dataset>/")
    parser.add_argument("--out", required=True, type=Path, help="results/index/<run>/<dataset>/")
    add_params_argument(parser)


def _skipped_corpus(embeddings: Path) -> str | None:
    """The encoder's 'skipped: ...' note when it had no corpus to encode (MIRACL offline)."""
    meta = embeddings / "meta.json"
    status = json.loads(meta.read_text()).get("corpus", "") if meta.exists() else ""
    return status if status.startswith("skipped") else None


def run(embeddings: Path, out: Path, index_params: dict, seed: int) -> dict:
    """Build and save the index; return its meta."""
    vectors_path = embeddings / "candidates.npy"
    if not vectors_path.exists():
        status = _skipped_corpus(embeddings)
        if status is None:
            raise MixbatchError(f"{vectors_path}: no candidate embeddings; run `mixbatch encode` first")
        with atomic_dir(out) as tmp:  # an output all the same, so every run x data set has one
            (tmp / "meta.json").write_text(json.dumps({"status": status}, indent=2) + "\n")
        log.warning("no index: %s", status)
        return {"status": status}
    vectors = np.load(vectors_path, allow_pickle=False)
    start = time.perf_counter()
    index = build_index(vectors, index_params["factory"], seed)
    seconds = time.perf_counter() - start
    meta = {"factory": index_params["factory"], "n": int(index.ntotal), "dim": int(vectors.shape[1]),
            "build_seconds": round(seconds, 3), "search": {k: v for k, v in index_params.items() if k != "factory"}}
    with atomic_dir(out) as tmp:
        save_index(index, tmp / "candidates.faiss")
        shutil.copyfile(embeddings / "candidates_ids.parquet", tmp / "candidates_ids.parquet")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    log.info("index %s: %d x %d in %.2f s", index_params["factory"], index.ntotal, vectors.shape[1], seconds)
    return meta


def main(args: argparse.Namespace) -> None:
    params = load_params(args.params)
    set_seeds(params["seed"])
    run(args.embeddings, args.out, params["index"], params["seed"])
