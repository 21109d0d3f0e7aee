"""MIRACL dev evaluation: per-language top-k search through the built index, then nDCG@10
and Recall@100 with trec_eval semantics (metrics.miracl).

In:  data/aligned/miracl/{questions,qrels}.parquet, results/embeddings/<run>/miracl/
     (questions.npy; meta.json says whether the hub corpus was encoded) and
     results/index/<run>/miracl/ (candidates.faiss over the pooled corpus of all
     languages, each language a contiguous run of rows; candidates_ids.parquet, cid
     "<lang>:<docid>"). Each language's queries search only its own rows.
Out: {"nDCG@10", "R@100" (macro over languages), "per_lang": {...}} or, without the
     corpus, {"status": "skipped: corpus unavailable (...)"} so the gap stays visible.
Params: score.miracl_languages, score.miracl_depth; the index's own search settings.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mixbatch.errors import MixbatchError
from mixbatch.metrics.miracl import run_from_topk, score_run
from mixbatch.retrieval.index import load_index, search
from mixbatch.retrieval.miracl_corpus import UNAVAILABLE
from mixbatch.retrieval.tables import load_embeddings, load_sides, read_table


def language_rows(cids: list[str]) -> dict[str, tuple[int, int]]:
    """{lang: (first row, end row)} of a corpus whose languages are contiguous runs."""
    langs = np.array([c.split(":", 1)[0] for c in cids])
    starts = np.flatnonzero(np.concatenate([[True], langs[1:] != langs[:-1]]))
    ends = np.append(starts[1:], len(langs))
    out = {}
    for a, b in zip(starts, ends):
        if langs[a] in out:
            raise MixbatchError(f"MIRACL corpus: language {str(langs[a])!r} is not one contiguous run of rows")
        out[str(langs[a])] = (int(a), int(b))
    return out


def score_miracl(aligned: Path, embeddings: Path, index_dir: Path, score: dict) -> dict:
    """MIRACL metrics for the languages in score.miracl_languages; see the module docstring."""
    if not (index_dir / "candidates.faiss").exists():
        meta_path = embeddings / "meta.json"
        status = json.loads(meta_path.read_text()).get("corpus", UNAVAILABLE) if meta_path.exists() else UNAVAILABLE
        return {"status": status if status.startswith("skipped") else UNAVAILABLE}
    questions = load_sides("miracl", aligned)["questions"]
    q_emb = load_embeddings(embeddings, "questions", questions.ids, "qid")
    cids = read_table(index_dir / "candidates_ids.parquet", ["cid"])["cid"].astype(str).tolist()
    index = load_index(index_dir / "candidates.faiss")
    if index.ntotal != len(cids):
        raise MixbatchError(f"{index_dir}: the index has {index.ntotal} rows, candidates_ids.parquet {len(cids)}")
    qrels = read_table(aligned / "qrels.parquet", ["qid", "docid", "relevance", "lang"])
    q_lang, rows_of = np.asarray(questions.lang), language_rows(cids)
    per_lang = {}
    for lang in score["miracl_languages"]:
        q_rows, lang_qrels = np.flatnonzero(q_lang == lang), qrels[qrels["lang"] == lang]
        if len(q_rows) == 0 or lang_qrels.empty:
            raise MixbatchError(f"{aligned}: MIRACL language {lang!r} has no questions or no qrels")
        if lang not in rows_of:
            raise MixbatchError(f"{index_dir}: no corpus passages for MIRACL language {lang!r}")
        scores, hits = search(index, q_emb[q_rows], score["miracl_depth"], rows_of[lang])
        docids = [c.split(":", 1)[1] for c in cids]
        run = run_from_topk([questions.ids[i] for i in q_rows], docids, hits, scores)
        per_lang[lang] = score_run(lang_qrels, run)
    return {
        "nDCG@10": float(np.mean([v["nDCG@10"] for v in per_lang.values()])),
        "R@100": float(np.mean([v["R@100"] for v in per_lang.values()])),
        "per_lang": per_lang,
    }
