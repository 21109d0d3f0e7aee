"""FAISS indexes over candidate embeddings (inner product = cosine for unit vectors).

Params (section `index`): factory (faiss.index_factory string; "Flat" is exact search),
hnsw_ef_search, ivf_nprobe. The LAReQA metrics do not need an index (they rank the full
pool exactly); the index serves top-k search over large corpora (MIRACL) and inspection.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mixbatch.errors import MixbatchError


def build_index(vectors: np.ndarray, factory: str, seed: int = 0):
    """A trained, filled inner-product index over vectors (n, d), float32 inside."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    try:
        index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as e:
        raise MixbatchError(f"index.factory: {factory!r} is not a FAISS factory string ({e})") from None
    if not index.is_trained:
        if hasattr(index, "cp"):  # IVF k-means: seed it, so a rebuild is identical
            index.cp.seed = seed
        index.train(vectors)
    index.add(vectors)
    return index


def set_search_params(index, ef_search: int, nprobe: int) -> None:
    """Apply query-time knobs that exist on this index type (HNSW efSearch, IVF nprobe)."""
    import faiss

    inner = faiss.downcast_index(index)
    if hasattr(inner, "hnsw"):
        inner.hnsw.efSearch = ef_search
    if hasattr(inner, "nprobe"):
        inner.nprobe = nprobe


def search(index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids), each (Q, k); ids -1 where fewer than k candidates exist."""
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)


def save_index(index, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def load_index(path: Path):
    import faiss

    if not Path(path).exists():
        raise MixbatchError(f"{path}: no index (run `mixbatch index` first)")
    return faiss.read_index(str(path))
