"""Stage score: retrieval metrics of one run on one data set (PAPER.md, Evaluation).

In:  --aligned data/aligned/<dataset>/, --embeddings results/embeddings/<run>/<dataset>/
     (from `mixbatch encode`). MIRACL is searched exactly, per language.
Out: --metrics results/metrics/<run>/<dataset>.json;
     --plots results/plots/<run>/<dataset>/: pairs.csv + map_heatmap.png (LAReQA), or
     per_lang.csv (Tatoeba, MIRACL).
     LAReQA json: {"mo": {"map", ...}, "cr": {"map", ...}, "mul": {"map", "map@20", "r@1",
     "r@10", "rank_distance", ...}, "per_lang": {...}, "pairs": {"X->Y": {...}}}
     (metrics.lareqa); Tatoeba: metrics.tatoeba; MIRACL: metrics.miracl, or
     {"status": "skipped: corpus unavailable (...)"}.
Params: `score` (map_k, recall_ks, block_size, tatoeba_languages, miracl_*).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from mixbatch.config import load_params
from mixbatch.data.datasets import DATASETS
from mixbatch.errors import MixbatchError
from mixbatch.io import atomic_path, write_json
from mixbatch.metrics import lareqa, tatoeba
from mixbatch.metrics.pairs_report import write_heatmap, write_pairs_csv
from mixbatch.retrieval.tables import LAREQA, lareqa_qrel_rows, load_embeddings, load_sides
from mixbatch.stages.common import add_params_argument, set_seeds

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--aligned", required=True, type=Path, help="data/aligned/<dataset>/")
    parser.add_argument("--embeddings", required=True, type=Path, help="results/embeddings/<run>/<dataset>/")
    parser.add_argument("--metrics", required=True, type=Path, help="results/metrics/<run>/<dataset>.json")
    parser.add_argument("--plots", required=True, type=Path, help="folder for the CSV and heatmap")
    add_params_argument(parser)


def score_lareqa(dataset: str, aligned: Path, embeddings: Path, score: dict) -> dict:
    sides = load_sides(dataset, aligned)
    q, c = sides["questions"], sides["candidates"]
    q_lang, c_lang = np.asarray(q.lang), np.asarray(c.lang)
    only_q, only_c = set(q_lang) - set(c_lang), set(c_lang) - set(q_lang)
    if only_q or only_c:
        raise MixbatchError(
            f"{aligned}: empty language(s): questions but no candidates in {sorted(only_q)}, "
            f"candidates but no questions in {sorted(only_c)}"
        )
    inp = lareqa.LareqaInputs(
        questions=load_embeddings(embeddings, "questions", q.ids, "qid"),
        candidates=load_embeddings(embeddings, "candidates", c.ids, "cid"),
        question_lang=q_lang,
        candidate_lang=c_lang,
        qrel_rows=lareqa_qrel_rows(aligned, q.ids, c.ids),
    )
    try:
        return lareqa.evaluate(inp, score["map_k"], tuple(score["recall_ks"]), score["block_size"])
    except ValueError as e:
        raise MixbatchError(f"{dataset} ({aligned}, {embeddings}): {e}") from None


def score_tatoeba(aligned: Path, embeddings: Path, score: dict, languages: str | list[str]) -> dict:
    sides = load_sides("tatoeba", aligned, tatoeba_languages=languages)
    xx = load_embeddings(embeddings, "questions", sides["questions"].ids, "qid")
    eng = load_embeddings(embeddings, "candidates", sides["candidates"].ids, "cid")
    return tatoeba.evaluate(np.asarray(sides["questions"].lang), xx, eng, score["tatoeba_languages"])


def main(args: argparse.Namespace) -> None:
    params = load_params(args.params)
    set_seeds(params["seed"])
    score = params["score"]
    args.plots.mkdir(parents=True, exist_ok=True)
    if args.dataset in LAREQA:
        result = score_lareqa(args.dataset, args.aligned, args.embeddings, score)
        write_pairs_csv(args.plots / "pairs.csv", result["pairs"])
        write_heatmap(args.plots / "map_heatmap.png", result["pairs"], f"{args.dataset}: X->Y mAP")
        log.info("%s: Mo. %.4f  Cr. %.4f  Mul. %.4f  mAP@20 %.4f  rank distance %.1f", args.dataset,
                 result["mo"]["map"], result["cr"]["map"], result["mul"]["map"], result["mul"]["map@20"],
                 result["mul"]["rank_distance"])
    elif args.dataset == "tatoeba":
        result = score_tatoeba(args.aligned, args.embeddings, score, params["encode"]["tatoeba_languages"])
        with atomic_path(args.plots / "per_lang.csv") as tmp:
            pd.DataFrame(result["per_lang"]).T.rename_axis("lang").to_csv(tmp, float_format="%.6f")
        log.info("tatoeba: mean acc %.4f (%s)", result["mean"]["mean"], score["tatoeba_languages"])
    else:
        from mixbatch.retrieval.miracl_eval import score_miracl

        result = score_miracl(args.aligned, args.embeddings, score)
        if "per_lang" in result:
            with atomic_path(args.plots / "per_lang.csv") as tmp:
                pd.DataFrame(result["per_lang"]).T.rename_axis("lang").to_csv(tmp, float_format="%.6f")
    write_json(args.metrics, result)
