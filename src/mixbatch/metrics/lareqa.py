"""LAReQA retrieval metrics (XQuAD-R, MLQA-R) in the Mo., Cr. and Mul. settings of PAPER.md.

Inputs: question embeddings (rows = questions table rows), candidate embeddings (rows =
candidates table rows), the question and candidate languages, and qrels as pairs of row
indices (question row, candidate row). Scores are inner products, i.e. cosine for the
L2-normalised embeddings that `mixbatch encode` writes.

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

from dataclasses import dataclass

import numpy as np

from mixbatch.metrics.ranking import pad_relevant, per_question_metrics, relevant_ranks

SUMMARY_KEYS = ("map", "map@20", "r@1", "r@10", "recall@10")


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


def _relevant_lists(qrel_rows: np.ndarray, n_questions: int) -> list[np.ndarray]:
    """Per question row, the sorted unique candidate rows relevant to it."""
    order = np.lexsort((qrel_rows[:, 1], qrel_rows[:, 0]))
    pairs = np.unique(qrel_rows[order], axis=0)
    splits = np.searchsorted(pairs[:, 0], np.arange(n_questions + 1))
    return [pairs[splits[i] : splits[i + 1], 1] for i in range(n_questions)]


def _summarise(per_q: dict[str, np.ndarray], map_k: int) -> dict[str, float]:
    out = {
        "map": float(per_q["ap"].mean()),
        "map@20" if map_k == 20 else f"map@{map_k}": float(per_q[f"ap@{map_k}"].mean()),
    }
    for key in per_q:
        if key.startswith(("r@", "recall@")):
            out[key] = float(per_q[key].mean())
    out["n_questions"] = int(len(per_q["ap"]))
    return out


def rank_all(inp: LareqaInputs, block_size: int = 512, per_language: bool = True) -> tuple[tuple, dict]:
    """Ranks and precisions of every question's relevant candidates, in the pooled (Mul.)
    ranking and within each candidate language Y, from ONE float64 score matrix per block
    of questions (candidates grouped by language, so each Y is a column slice).

    Returns ((rank, precision) for Mul., {Y: (rank, precision)}), arrays (Q, R) with
    rank 0 where a question has no (further) relevant candidate; per_language=False
    skips the per-Y part (Mul. only) and returns {} for it.
    """
    relevant = _relevant_lists(inp.qrel_rows, len(inp.questions))
    missing = [i for i, r in enumerate(relevant) if len(r) == 0]
    if missing:
        raise ValueError(f"{len(missing)} questions have no qrels (first: row {missing[0]})")
    order = np.argsort(inp.candidate_lang, kind="stable")
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    pool_t = np.ascontiguousarray(inp.candidates[order], dtype=np.float64).T
    langs, starts = np.unique(inp.candidate_lang[order], return_index=True)
    bounds = dict(zip(langs.tolist(), zip(starts, list(starts[1:]) + [len(order)]))) if per_language else {}
    rel_pos = [np.sort(position[r]) for r in relevant]
    mul_rel = pad_relevant(rel_pos)
    y_rel = {y: pad_relevant([r[(r >= a) & (r < b)] - a for r in rel_pos]) for y, (a, b) in bounds.items()}
    mul = (np.zeros(mul_rel.shape, np.int64), np.zeros(mul_rel.shape))
    per_y = {y: (np.zeros(v.shape, np.int64), np.zeros(v.shape)) for y, v in y_rel.items()}
    for lo in range(0, len(inp.questions), block_size):
        hi = lo + block_size
        scores = np.asarray(inp.questions[lo:hi], dtype=np.float64) @ pool_t
        mul[0][lo:hi], mul[1][lo:hi] = relevant_ranks(scores, mul_rel[lo:hi])
        for y, (a, b) in bounds.items():
            per_y[y][0][lo:hi], per_y[y][1][lo:hi] = relevant_ranks(scores[:, a:b], y_rel[y][lo:hi])
    return mul, per_y


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
    """All LAReQA settings, shaped for results/metrics/<run>/<dataset>.json:
    {"mo", "cr", "mul", "per_lang", "pairs"}; pairs keyed "X->Y"."""
    inp.validate()
    mul_ranks, per_y = rank_all(inp, block_size)
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
