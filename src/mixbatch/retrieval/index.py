"""FAISS indexes over candidate embeddings (inner product = cosine for unit vectors).

Params (section `index`): factory (faiss.index_factory string; "Flat" is exact search),
hnsw_ef_search and ivf_nprobe: query-time knobs that the index stage sets on the index
before saving it, so that every search through a saved index (MIRACL scoring,
`mixbatch search`) uses them. The LAReQA metrics do not search: they rank the full pool
exactly (mixbatch.metrics.lareqa).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mixbatch.errors import MixbatchError


def build_index(vectors: np.ndarray, factory: str, seed: int = 0, ef_search: int = 128, nprobe: int = 16):
    """A trained, filled inner-product index over vectors (n, d), float32 inside, with its
    search settings applied."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    try:
        index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as e:
        raise MixbatchError(f"index.factory: {factory!r} is not a FAISS factory string ({e})") from None
    if not index.is_trained:
        if hasattr(index, "cp"):  # IVF k-means: seed it, so a rebuild is identical
            index.cp.seed = seed
        try:
            index.train(vectors)
        except RuntimeError as e:
            raise MixbatchError(f"index.factory: {factory!r} cannot be trained on {len(vectors)} vectors ({e})") from None
    index.add(vectors)
    set_search_params(index, ef_search, nprobe)
    return index


def set_search_params(index, ef_search: int, nprobe: int) -> None:
    """Apply query-time knobs that exist on this index type (HNSW efSearch, IVF nprobe)."""
    import faiss

    inner = faiss.downcast_index(index)
    if hasattr(inner, "hnsw"):
        inner.hnsw.efSearch = ef_search
    if hasattr(inner, "nprobe"):
        inner.nprobe = nprobe


def search(index, queries: np.ndarray, k: int, rows: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids), each (Q, k); ids -1 where fewer than k candidates exist. rows=(lo, hi)
    restricts the search to index rows lo..hi-1 (e.g. one language of a pooled corpus)."""
    import faiss

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if rows is None:
        return index.search(queries, k)
    inner = faiss.downcast_index(index)
    selector = faiss.IDSelectorRange(int(rows[0]), int(rows[1]))
    if hasattr(inner, "hnsw"):
        params = faiss.SearchParametersHNSW(sel=selector, efSearch=inner.hnsw.efSearch)
    elif hasattr(inner, "nprobe"):
        params = faiss.SearchParametersIVF(sel=selector, nprobe=inner.nprobe)
    else:
        params = faiss.SearchParameters(sel=selector)
    return index.search(queries, k, params=params)


def save_index(index, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def load_index(path: Path):
    import faiss

    path = Path(path)
    if not path.exists():
        raise MixbatchError(f"{path}: no index (run `mixbatch index` first)")
    try:
        return faiss.read_index(str(path))
    except RuntimeError as e:
        raise MixbatchError(f"{path}: not a readable FAISS index ({e}); rerun `mixbatch index`") from None
