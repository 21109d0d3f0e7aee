"""Language bias that can be seen: the candidate-language mix of each question's top k in
the Mul. setting (all languages pooled), against the mix of its relevant candidates.

For question language X and candidate language Y: `top[X][Y]` is the mean over X's
questions of the share of their top-k candidates that are in Y; `relevant[X][Y]` the mean
share of their relevant candidates in Y. A model without language bias ranks the
answer's translations alike, so its top-k mix leans towards the relevant mix; a biased
one fills its top k with X. The top k is taken from float32 scores (a block-wise GEMM):
near-ties at the k-th place can fall either way, which does not move a mix.
"""

from __future__ import annotations

import numpy as np

from mixbatch.metrics.lareqa import LareqaInputs


def language_mix(inp: LareqaInputs, k: int = 10, block_size: int = 512) -> dict:
    """{"k", "top": {X: {Y: share}}, "relevant": {X: {Y: share}}}; see the module docstring."""
    langs, c_group = np.unique(inp.candidate_lang, return_inverse=True)
    k = min(k, len(c_group))
    pool = np.ascontiguousarray(inp.candidates, dtype=np.float32)
    questions = np.ascontiguousarray(inp.questions, dtype=np.float32)
    top_counts = np.zeros((len(questions), len(langs)))
    for lo in range(0, len(questions), block_size):
        scores = questions[lo:lo + block_size] @ pool.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        rows = np.repeat(np.arange(len(top)), k)
        np.add.at(top_counts, (lo + rows, c_group[top.ravel()]), 1)
    rel_counts = np.zeros_like(top_counts)
    pairs = np.unique(inp.qrel_rows, axis=0)
    np.add.at(rel_counts, (pairs[:, 0], c_group[pairs[:, 1]]), 1)
    top_share = top_counts / k
    rel_share = rel_counts / np.maximum(rel_counts.sum(axis=1, keepdims=True), 1)

    def by_language(share: np.ndarray) -> dict:
        out = {}
        for x in np.unique(inp.question_lang):
            mean = share[inp.question_lang == x].mean(axis=0)
            out[str(x)] = {str(y): float(v) for y, v in zip(langs, mean)}
        return out

    return {"k": int(k), "top": by_language(top_share), "relevant": by_language(rel_share)}
