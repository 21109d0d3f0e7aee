"""Stage score: retrieval metrics of one run on one evaluation set (PAPER.md, Evaluation).

In:  --aligned data/aligned/<dataset>/, --embeddings results/embeddings/<run>/<dataset>/
     (from `mixbatch encode`); MIRACL also --index results/index/<run>/miracl/ (searched
     per language through the built index).
Out (computed in full first, then written; a failure leaves none of them behind):
     --metrics results/metrics/<run>/<dataset>.json: the headline numbers only (LAReQA:
       mo_map, cr_map, mul_map, mul_map@k, mul_r@k, rank_distance; Tatoeba: acc and both
       directions; MIRACL: nDCG@10, R@100, or its "skipped: ..." status);
     --plots results/plots/<run>/<dataset>/: per_lang.csv (and LAReQA: pairs.csv, the X->Y
       metrics, and mix.csv, the top-k language mix), small tables for `dvc plots`;
     --details results/details/<run>/<dataset>/: full.json (every number), LAReQA's
       questions.parquet (mixbatch.metrics.questions: one row per question and setting,
       what the report's intervals and tests resample) and map_heatmap.png.
Params: `score` (map_k, recall_ks, mix_k, block_size; tatoeba_headline; miracl_*).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from mixbatch.data.datasets import EVALUATIONS, kind
from mixbatch.errors import MixbatchError
from mixbatch.io import atomic_dir, write_json
from mixbatch.metrics import lareqa, tatoeba
from mixbatch.metrics.bias import language_mix
from mixbatch.metrics.questions import per_question_table
from mixbatch.report.plots import map_heatmap
from mixbatch.retrieval.tables import lareqa_qrel_rows, load_embeddings, load_sides, read_table
from mixbatch.stages.common import add_params_argument, load_section, set_seeds

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, choices=EVALUATIONS)
    parser.add_argument("--aligned", required=True, type=Path, help="data/aligned/<dataset>/")
    parser.add_argument("--embeddings", required=True, type=Path, help="results/embeddings/<run>/<dataset>/")
    parser.add_argument("--index", type=Path, default=None, help="results/index/<run>/<dataset>/ (MIRACL)")
    parser.add_argument("--metrics", required=True, type=Path, help="results/metrics/<run>/<dataset>.json")
    parser.add_argument("--plots", required=True, type=Path, help="folder for the per-language / per-pair tables")
    parser.add_argument("--details", required=True, type=Path, help="folder for full.json, questions.parquet, figures")
    add_params_argument(parser)


def lareqa_inputs(dataset: str, aligned: Path, embeddings: Path) -> tuple[lareqa.LareqaInputs, list[str], list[str]]:
    """The scoring inputs plus each question's qid and xling_id (row order of the tables)."""
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
        question_lang=q_lang, candidate_lang=c_lang, qrel_rows=lareqa_qrel_rows(aligned, q.ids, c.ids),
    )
    xling = read_table(aligned / "questions.parquet", ["qid", "xling_id"])["xling_id"].astype(str).tolist()
    return inp, q.ids, xling


def headline_lareqa(result: dict, map_k: int, recall_ks: list[int]) -> dict:
    mul = result["mul"]
    out = {"mo_map": result["mo"].get("map"), "cr_map": result["cr"].get("map"), "mul_map": mul["map"],
           f"mul_map@{map_k}": mul[f"map@{map_k}"]}
    out.update({f"mul_r@{k}": mul[f"r@{k}"] for k in recall_ks})
    return {**out, "rank_distance": mul["rank_distance"], "n_questions": mul["n_questions"]}


def score_lareqa(dataset: str, aligned: Path, embeddings: Path, score: dict) -> dict:
    """{"headline", "full", "tables": {name: DataFrame}, "questions": DataFrame, "pairs"}."""
    inp, qids, xling_ids = lareqa_inputs(dataset, aligned, embeddings)
    map_k, recall_ks = score["map_k"], tuple(score["recall_ks"])
    try:
        inp.validate()
        mul, per_y = lareqa.rank_all(inp, score["block_size"])
    except ValueError as e:
        raise MixbatchError(f"{dataset} ({aligned}, {embeddings}): {e}") from None
    full = lareqa.summarise_ranks(inp, mul, per_y, map_k, recall_ks)
    full["mix"] = language_mix(inp, score["mix_k"], score["block_size"])
    mix = pd.DataFrame([{"question_lang": x, "candidate_lang": y, "top": share, "relevant": full["mix"]["relevant"][x][y]}
                        for x, shares in full["mix"]["top"].items() for y, share in shares.items()])
    pairs = lareqa.pairs_frame(full["pairs"])
    per_lang = pd.DataFrame(full["per_lang"]).T.rename_axis("lang").reset_index()
    log.info("%s: Mo. %.4f  Cr. %.4f  Mul. %.4f  mAP@%d %.4f  rank distance %.1f", dataset, full["mo"]["map"],
             full["cr"]["map"], full["mul"]["map"], map_k, full["mul"][f"map@{map_k}"], full["mul"]["rank_distance"])
    return {"headline": headline_lareqa(full, map_k, list(recall_ks)), "full": full,
            "tables": {"per_lang": per_lang, "pairs": pairs, "mix": mix},
            "questions": per_question_table(inp, mul, per_y, qids, xling_ids, map_k, recall_ks), "pairs": pairs}


def score_tatoeba(aligned: Path, embeddings: Path, score: dict) -> dict:
    # the languages are those that were encoded (encode.tatoeba_languages), read from the ids
    ids = read_table(embeddings / "questions_ids.parquet", ["qid", "lang"])
    sides = load_sides("tatoeba", aligned, tatoeba_languages=list(dict.fromkeys(ids["lang"].astype(str))))
    xx = load_embeddings(embeddings, "questions", sides["questions"].ids, "qid")
    eng = load_embeddings(embeddings, "candidates", sides["candidates"].ids, "cid")
    full = tatoeba.evaluate(np.asarray(sides["questions"].lang), xx, eng, score["tatoeba_headline"])
    log.info("tatoeba: mean acc %.4f (%s)", full["mean"]["mean"], score["tatoeba_headline"])
    headline = {"acc": full["mean"]["mean"], "xx->en": full["mean"]["xx->en"], "en->xx": full["mean"]["en->xx"],
                "n_languages": full["mean"]["n_languages"], "acc_all": full["mean_all"]["mean"]}
    per_lang = pd.DataFrame(full["per_lang"]).T.rename_axis("lang").reset_index()
    return {"headline": headline, "full": full, "tables": {"per_lang": per_lang}}


def score_miracl_stage(aligned: Path, embeddings: Path, index: Path | None, score: dict) -> dict:
    from mixbatch.retrieval.miracl_eval import score_miracl

    if index is None:
        raise MixbatchError("MIRACL is scored through the built index: pass --index results/index/<run>/miracl")
    full = score_miracl(aligned, embeddings, index, score)
    if "status" in full:
        return {"headline": {"status": full["status"]}, "full": full, "tables": {}}
    per_lang = pd.DataFrame(full["per_lang"]).T.rename_axis("lang").reset_index()
    return {"headline": {"nDCG@10": full["nDCG@10"], "R@100": full["R@100"]}, "full": full,
            "tables": {"per_lang": per_lang}}


def write_outputs(result: dict, dataset: str, metrics: Path, plots: Path, details: Path) -> None:
    with atomic_dir(plots) as tmp_plots, atomic_dir(details) as tmp_details:
        for name, table in result["tables"].items():
            table.to_csv(tmp_plots / f"{name}.csv", index=False, float_format="%.6f")
        write_json(tmp_details / "full.json", result["full"])
        if "questions" in result:
            result["questions"].to_parquet(tmp_details / "questions.parquet", index=False)
            map_heatmap(result["pairs"], f"{dataset}: X->Y mAP", tmp_details / "map_heatmap.png")
        write_json(metrics, result["headline"])


def main(args: argparse.Namespace) -> None:
    params = load_section(args, "score")
    set_seeds(params["seed"])
    score = params["score"]
    if kind(args.dataset) == "lareqa":
        result = score_lareqa(args.dataset, args.aligned, args.embeddings, score)
    elif kind(args.dataset) == "tatoeba":
        result = score_tatoeba(args.aligned, args.embeddings, score)
    else:
        result = score_miracl_stage(args.aligned, args.embeddings, args.index, score)
    write_outputs(result, args.dataset, args.metrics, args.plots, args.details)
    log.info("wrote %s", json.dumps(result["headline"]))
