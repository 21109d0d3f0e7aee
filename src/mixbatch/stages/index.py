"""Stage index: a FAISS index over one evaluation set's pooled candidate embeddings.

In:  --embeddings results/embeddings/<run>/<dataset>/ (candidates.npy, candidates_ids.parquet).
Out: --out results/index/<run>/<dataset>/ with candidates.faiss (its search settings,
     HNSW efSearch / IVF nprobe, set), candidates_ids.parquet (row i of the index = row i
     of this table) and meta.json (factory, size, settings; no timings: see the log);
     where the encoder had no corpus (MIRACL offline), only meta.json with its "skipped" status.
Params: `index` (factory, hnsw_ef_search, ivf_nprobe); `seed` for IVF k-means.
Used by MIRACL scoring and `mixbatch search`.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path

from mixbatch.errors import MixbatchError
from mixbatch.io import atomic_dir, write_json
from mixbatch.retrieval.index import build_index, save_index
from mixbatch.retrieval.tables import load_embeddings, read_table
from mixbatch.stages.common import add_params_argument, load_section, set_seeds

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
    if not (embeddings / "candidates.npy").exists():
        status = _skipped_corpus(embeddings)
        if status is None:
            raise MixbatchError(f"{embeddings / 'candidates.npy'}: no candidate embeddings; run `mixbatch encode` first")
        with atomic_dir(out) as tmp:  # an output all the same, so every run x data set has one
            write_json(tmp / "meta.json", {"status": status})
        log.warning("no index: %s", status)
        return {"status": status}
    ids = read_table(embeddings / "candidates_ids.parquet", ["cid"])["cid"].astype(str).tolist()
    vectors = load_embeddings(embeddings, "candidates", ids, "cid")
    start = time.perf_counter()
    index = build_index(vectors, index_params["factory"], seed, index_params["hnsw_ef_search"], index_params["ivf_nprobe"])
    meta = {"factory": index_params["factory"], "n": int(index.ntotal), "dim": int(vectors.shape[1]),
            "search": {k: v for k, v in index_params.items() if k != "factory"}}
    with atomic_dir(out) as tmp:
        save_index(index, tmp / "candidates.faiss")
        shutil.copyfile(embeddings / "candidates_ids.parquet", tmp / "candidates_ids.parquet")
        write_json(tmp / "meta.json", meta)
    log.info("index %s: %d x %d in %.2f s", index_params["factory"], index.ntotal, vectors.shape[1],
             time.perf_counter() - start)
    return meta


def main(args: argparse.Namespace) -> None:
    params = load_section(args, "index")
    set_seeds(params["seed"])
    run(args.embeddings, args.out, params["index"], params["seed"])
