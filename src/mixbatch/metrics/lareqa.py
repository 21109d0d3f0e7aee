"""LAReQA retrieval metrics (XQuAD-R, MLQA-R) in the Mo., Cr. and Mul. settings of PAPER.md.

Inputs: question embeddings (rows = questions table rows), candidate embeddings (rows =
candidates table rows), the question and candidate languages, and qrels as pairs of row
indices (question row, candidate row). Scores are float64 inner products, i.e. cosine
for the L2-normalised embeddings that `mixbatch encode` writes; ranks are exactly those
of the float64 scores (computed via a float32 GEMM and an error bound, see rank_all).

Settings (PAPER.md, Evaluation):
- Mul.: every question against the pooled candidates of all languages; the mean over
  all questions (as the XTREME reference code does).
- X->Y: questions in X against the candidates in Y only; relevant = the question's
  answer sentences in Y; questions without one in Y are skipped.
- Mo.: macro mean of X->X over languages. Cr.: macro mean of X->Y over ordered pairs
  X != Y.
"mAP" is full-ranking AP (sklearn's average_precision_score per question, the XTREME
LAReQA reference); "map@20" is XTREME-R's AP@20; see metrics.ranking for r@k, recall@k,
rank_distance and the tie convention.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from mixbatch.metrics.ranking import (
    as_float_vectors,
    exact_dots,
    float32_error_bound,
    nonrelevant_counts,
    per_question_metrics,
    ranks_from_counts,
    relevant_scores,
)

@dataclass
class LareqaInputs:
    """Embeddings, languages and qrels by row index; see the module docstring."""

    questions: np.ndarray  # (Q, d)
    candidates: np.ndarray  # (N, d)
    question_lang: np.ndarray  # (Q,) str
    candidate_lang: np.ndarray  # (N,) str
    qrel_rows: np.ndarray  # (P, 2) int: (question row, candidate row)

    def validate(self) -> None:
        if len(self.questions) != len(self.question_lang):
            raise ValueError(f"{len(self.questions)} question embeddings for {len(self.question_lang)} questions")
        if len(self.candidates) != len(self.candidate_lang):
            raise ValueError(f"{len(self.candidates)} candidate embeddings for {len(self.candidate_lang)} candidates")
        if self.questions.ndim != 2 or self.candidates.ndim != 2 or self.questions.shape[1] != self.candidates.shape[1]:
            raise ValueError(f"embedding shapes {self.questions.shape} and {self.candidates.shape} do not match")
        if len(self.qrel_rows) == 0:
            raise ValueError("no qrels: nothing is relevant to any question")


def _padded_relevant(qrel_rows: np.ndarray, n_questions: int, position: np.ndarray) -> np.ndarray:
    """(Q, R_max) sorted pool positions of each question's relevant candidates, -1 padded."""
    n = max(len(position), 1)
    flat = np.sort(qrel_rows[:, 0].astype(np.int64) * n + position[qrel_rows[:, 1]])  # 1-d: fast
    flat = flat[np.concatenate([[True], flat[1:] != flat[:-1]])]  # unique
    pairs = np.stack([flat // n, flat % n], axis=1)
    counts = np.bincount(pairs[:, 0], minlength=n_questions)
    if (counts == 0).any():
        missing = np.flatnonzero(counts == 0)
        raise ValueError(f"{len(missing)} questions have no qrels (first: row {missing[0]})")
    slot = np.arange(len(pairs)) - (np.cumsum(counts) - counts)[pairs[:, 0]]
    out = np.full((n_questions, int(counts.max(initial=1))), -1, dtype=np.int64)
    out[pairs[:, 0], slot] = pairs[:, 1]
    return out


def _summarise(per_q: dict[str, np.ndarray], map_k: int) -> dict[str, float]:
    out = {
        "map": float(per_q["ap"].mean()),
        f"map@{map_k}": float(per_q[f"ap@{map_k}"].mean()),
    }
    for key in per_q:
        if key.startswith(("r@", "recall@")):
            out[key] = float(per_q[key].mean())
    out["n_questions"] = int(len(per_q["ap"]))
    return out


def rank_all(inp: LareqaInputs, block_size: int = 512, per_language: bool = True) -> tuple[tuple, dict]:
    """Ranks and precisions of every question's relevant candidates, in the pooled (Mul.)
    ranking and within each candidate language Y, from ONE pass per block of questions.

    Scores are float64 inner products (ranking.exact_dots). They are not all computed:
    a float32 score matrix per block (one sgemm) settles every candidate farther than a
    proven error bound from a relevant candidate's float64 score, and only those within
    it are recomputed in float64 (ranking.nonrelevant_counts), so ranks and ties are
    exactly those of the float64 scores. The per-Y counts (candidates of Y only) come
    from the same pass.

    Returns ((rank, precision) for Mul., {Y: (rank, precision)}), arrays (Q, R) with
    rank 0 where a question has no (further) relevant candidate; per_language=False
    skips the per-Y part (Mul. only) and returns {} for it.
    """
    order = np.argsort(inp.candidate_lang, kind="stable")
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    mul_rel = _padded_relevant(inp.qrel_rows, len(inp.questions), position)
    in_order = bool((order == np.arange(len(order))).all())  # aligned tables are: no copy
    pool = as_float_vectors(inp.candidates if in_order else inp.candidates[order])
    questions = as_float_vectors(inp.questions)
    q_norms = np.sqrt(exact_dots(questions, questions, np.arange(len(questions)), np.arange(len(questions))))
    c_norms = np.sqrt(exact_dots(pool, pool, np.arange(len(pool)), np.arange(len(pool))))
    if not (np.isfinite(q_norms).all() and np.isfinite(c_norms).all()):  # a NaN or inf anywhere
        raise ValueError("embeddings contain NaN or infinite values (or values too large to square)")
    c_norm_max = float(c_norms.max(initial=0))
    if max(float(q_norms.max(initial=0)), c_norm_max) > 1e15:
        raise ValueError("embedding norms above 1e15: normalise the embeddings")  # float32 range
    pool32, questions32 = pool.astype(np.float32, copy=False), questions.astype(np.float32, copy=False)
    eps = float32_error_bound(pool.shape[1], q_norms, c_norm_max)
    langs, cand_group = np.unique(inp.candidate_lang[order], return_inverse=True)
    block_size = max(1, min(block_size, len(questions)))
    valid = mul_rel >= 0
    rel_group = cand_group[np.maximum(mul_rel, 0)]
    mul = (np.zeros(mul_rel.shape, np.int64), np.zeros(mul_rel.shape))
    per_y_all = (np.zeros(mul_rel.shape, np.int64), np.zeros(mul_rel.shape))
    # Blocks are scored by a few threads at once, each doing its block's sgemm and then
    # its counting: both release the GIL. BLAS gets one thread per call, as its own idle
    # threads spin-wait between calls and would steal the counting threads' cores.
    workers = _n_workers(len(questions), block_size)
    buffers = {}  # per thread, one score buffer reused: a fresh one per block costs page faults

    def score_block(lo: int) -> None:
        hi = min(lo + block_size, len(questions))
        buffer = buffers.setdefault(threading.get_ident(), np.empty((block_size, len(pool)), np.float32))
        approx = np.matmul(questions32[lo:hi], pool32.T, out=buffer[: hi - lo])
        rel, ok = mul_rel[lo:hi], valid[lo:hi]
        t = relevant_scores(questions[lo:hi], pool, rel)
        group = rel_group[lo:hi] if per_language else None
        n_mul, n_y = nonrelevant_counts(
            approx, eps[lo:hi], rel, t, lambda r, c: exact_dots(questions, pool, lo + r, c),
            group, cand_group if per_language else None,
        )
        mul[0][lo:hi], mul[1][lo:hi] = ranks_from_counts(t, ok, n_mul)
        if per_language:
            per_y_all[0][lo:hi], per_y_all[1][lo:hi] = ranks_from_counts(t, ok, n_y, group)

    with _one_blas_thread(), ThreadPoolExecutor(max_workers=workers) as pool_:
        for done in [pool_.submit(score_block, lo) for lo in range(0, len(questions), block_size)]:
            done.result()  # re-raises a worker's error
    per_y = {}
    if per_language:
        for g, y in enumerate(langs.tolist()):
            per_y[y] = _pack(valid & (rel_group == g), per_y_all)
    return mul, per_y


def _n_workers(n_questions: int, block_size: int) -> int:
    """One scoring thread per core this process may use, no more than there are blocks."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, -(-n_questions // block_size)))


def _one_blas_thread():
    """Limit BLAS to one thread for a with-block (threadpoolctl comes with scikit-learn)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - only slower
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _pack(mask: np.ndarray, arrays: tuple) -> tuple:
    """Each row's masked entries moved to the left, in order (rank 0 = none)."""
    width = max(int(mask.sum(axis=1).max(initial=0)), 1)
    rows, cols = np.nonzero(mask)
    slot = (np.cumsum(mask, axis=1) - 1)[rows, cols]
    out = []
    for a in arrays:
        packed = np.zeros((len(mask), width), dtype=a.dtype)
        packed[rows, slot] = a[rows, cols]
        out.append(packed)
    return tuple(out)


def mul_setting(inp: LareqaInputs, mul: tuple, map_k: int = 20, recall_ks=(1, 10)) -> dict:
    """Mul.: summary (with the rank distance) and per question language."""
    per_q = per_question_metrics(mul[0], mul[1], map_k, tuple(recall_ks))
    summary = _summarise(per_q, map_k)
    per_lang = {}
    for lang in np.unique(inp.question_lang):
        sel = inp.question_lang == lang
        per_lang[str(lang)] = _summarise({k: v[sel] for k, v in per_q.items()}, map_k)
        per_lang[str(lang)]["rank_distance"] = float(per_q["rank_distance"][sel].mean())
    # Language bias: mean over questions within a language, then macro over languages.
    summary["rank_distance"] = float(np.mean([v["rank_distance"] for v in per_lang.values()]))
    return {"summary": summary, "per_lang": per_lang}


def pair_settings(inp: LareqaInputs, per_y: dict, map_k: int = 20, recall_ks=(1, 10)) -> dict:
    """Every ordered language pair X->Y (X == Y included): {(X, Y): summary}. Questions
    of X without an answer in Y are skipped (counted in n_skipped); a pair where none
    has one is left out."""
    pairs = {}
    for y, (rank, prec) in per_y.items():
        has_answer = rank[:, 0] > 0
        for x in np.unique(inp.question_lang):
            in_x = inp.question_lang == x
            keep = in_x & has_answer
            if not keep.any():
                continue
            summary = _summarise(per_question_metrics(rank[keep], prec[keep], map_k, tuple(recall_ks)), map_k)
            summary["n_skipped"] = int((in_x & ~has_answer).sum())
            pairs[(str(x), str(y))] = summary
    return pairs


def macro(pairs: dict[tuple[str, str], dict], same_language: bool) -> dict[str, float]:
    """Macro mean over language pairs: Mo. (X == Y) or Cr. (X != Y)."""
    chosen = [v for (x, y), v in pairs.items() if (x == y) == same_language]
    if not chosen:
        return {}
    keys = [k for k in chosen[0] if not k.startswith("n_")]
    out = {k: float(np.mean([v[k] for v in chosen])) for k in keys}
    out["n_pairs"] = len(chosen)
    return out


def evaluate(inp: LareqaInputs, map_k: int = 20, recall_ks=(1, 10), block_size: int = 512) -> dict:
    """All LAReQA settings: {"mo", "cr", "mul", "per_lang", "pairs"}; pairs keyed "X->Y"."""
    inp.validate()
    return summarise_ranks(inp, *rank_all(inp, block_size), map_k, recall_ks)


def summarise_ranks(inp: LareqaInputs, mul_ranks: tuple, per_y: dict, map_k: int = 20, recall_ks=(1, 10)) -> dict:
    """`evaluate`'s result from rank_all's ranks (mixbatch.metrics.questions makes the
    per-question table from the same ranks)."""
    mul = mul_setting(inp, mul_ranks, map_k, recall_ks)
    pairs = pair_settings(inp, per_y, map_k, recall_ks)
    per_lang = {}
    for lang, m in mul["per_lang"].items():
        entry = {f"mul_{k}": v for k, v in m.items()}
        if (lang, lang) in pairs:
            entry["mo_map"] = pairs[(lang, lang)]["map"]
        cross = [v["map"] for (x, y), v in pairs.items() if x == lang and y != lang]
        if cross:
            entry["cr_map"] = float(np.mean(cross))
        per_lang[lang] = entry
    return {
        "mo": macro(pairs, same_language=True),
        "cr": macro(pairs, same_language=False),
        "mul": mul["summary"],
        "per_lang": per_lang,
        "pairs": {f"{x}->{y}": v for (x, y), v in sorted(pairs.items())},
    }


def pairs_frame(pairs: dict[str, dict]) -> "pd.DataFrame":
    """evaluate()'s {"X->Y": metrics} as a table: question_lang, candidate_lang, metrics..."""
    import pandas as pd

    rows = [{"question_lang": key.split("->")[0], "candidate_lang": key.split("->")[1], **m} for key, m in pairs.items()]
    return pd.DataFrame(rows)
