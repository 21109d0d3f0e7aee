"""MIRACL dev evaluation from embeddings: exact per-language top-k search, then nDCG@10 and
Recall@100 with trec_eval semantics (metrics.miracl).

In:  data/aligned/miracl/{questions,qrels}.parquet and results/embeddings/<run>/miracl/
     (questions.npy; candidates.npy + candidates_ids.parquet, cid "<lang>:<docid>", only
     where `mixbatch encode` could reach the hub corpus; meta.json says which).
Out: {"nDCG@10", "R@100" (macro over languages), "per_lang": {...}} or, without the
     corpus, {"status": "skipped: corpus unavailable (...)"} so the gap stays visible.
Params: score.miracl_languages, score.miracl_depth.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mixbatch.errors import MixbatchError
from mixbatch.metrics.miracl import run_from_topk, score_run
from mixbatch.retrieval.miracl_corpus import UNAVAILABLE
from mixbatch.retrieval.tables import load_embeddings, load_sides, read_table


def exact_topk(queries: np.ndarray, pool: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows (Q, k), scores (Q, k)) of the k best pool rows per query by inner product."""
    import faiss

    index = faiss.IndexFlatIP(pool.shape[1])
    index.add(np.ascontiguousarray(pool, dtype=np.float32))
    scores, rows = index.search(np.ascontiguousarray(queries, dtype=np.float32), min(k, len(pool)))
    return rows, scores


def score_miracl(aligned: Path, embeddings: Path, score: dict) -> dict:
    """MIRACL metrics for the languages in score.miracl_languages; see the module docstring."""
    if not (embeddings / "candidates.npy").exists():
        meta_path = embeddings / "meta.json"
        status = json.loads(meta_path.read_text()).get("corpus", UNAVAILABLE) if meta_path.exists() else UNAVAILABLE
        return {"status": status if status.startswith("skipped") else UNAVAILABLE}
    questions = load_sides("miracl", aligned)["questions"]
    q_emb = load_embeddings(embeddings, "questions", questions.ids, "qid")
    cids = pd.read_parquet(embeddings / "candidates_ids.parquet")["cid"].astype(str).tolist()
    c_emb = load_embeddings(embeddings, "candidates", cids, "cid")
    qrels = read_table(aligned / "qrels.parquet", ["qid", "docid", "relevance", "lang"])
    q_lang, c_lang = np.asarray(questions.lang), np.array([c.split(":", 1)[0] for c in cids])
    per_lang = {}
    for lang in score["miracl_languages"]:
        q_rows, c_rows = np.flatnonzero(q_lang == lang), np.flatnonzero(c_lang == lang)
        lang_qrels = qrels[qrels["lang"] == lang]
        if len(q_rows) == 0 or lang_qrels.empty:
            raise MixbatchError(f"{aligned}: MIRACL language {lang!r} has no questions or no qrels")
        if len(c_rows) == 0:
            raise MixbatchError(f"{embeddings}: no corpus passages for MIRACL language {lang!r}")
        rows, scores = exact_topk(q_emb[q_rows], c_emb[c_rows], score["miracl_depth"])
        docids = [cids[i].split(":", 1)[1] for i in c_rows]
        run = run_from_topk([questions.ids[i] for i in q_rows], docids, rows, scores)
        per_lang[lang] = score_run(lang_qrels, run)
    return {
        "nDCG@10": float(np.mean([v["nDCG@10"] for v in per_lang.values()])),
        "R@100": float(np.mean([v["R@100"] for v in per_lang.values()])),
        "per_lang": per_lang,
    }
