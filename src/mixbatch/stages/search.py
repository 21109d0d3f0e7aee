"""`mixbatch search`: ask a run's model questions, answered through its built index.

    mixbatch search --run hybrid-s13 --dataset xquad-r "Where is the largest port in Kenya?"
    mixbatch search --run zeroshot --dataset xquad-r --k 5 --file questions.txt

In:  the run's model folder (data/models/<run>, data/models/base for zeroshot), its index
     results/index/<run>/<dataset>/ (candidates.faiss + candidates_ids.parquet, from
     `mixbatch index`; its own search settings apply) and the candidates' texts from
     data/aligned/<dataset>/. Each path can be overridden.
Out: per question, the top k hits (rank, score, language, id, text) on stdout; --json
     prints them as JSON lines instead.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from mixbatch import grid, paths
from mixbatch.data.datasets import EVALUATIONS, kind
from mixbatch.errors import MixbatchError
from mixbatch.model.encoder import EncoderSettings
from mixbatch.retrieval.encode import encode_texts, load_encoder
from mixbatch.retrieval.index import load_index, search
from mixbatch.retrieval.tables import load_sides, read_table
from mixbatch.stages.common import add_params_argument, load_section


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="e.g. hybrid-s13, or zeroshot")
    parser.add_argument("--dataset", required=True, choices=EVALUATIONS, help="whose candidates to search")
    parser.add_argument("questions", nargs="*", help="questions (or --file)")
    parser.add_argument("--file", type=Path, default=None, help="a text file, one question per line")
    parser.add_argument("--k", type=int, default=10, help="hits per question (default 10)")
    parser.add_argument("--model", type=Path, default=None, help="model folder (default: the run's)")
    parser.add_argument("--index", type=Path, default=None, help="index folder (default: results/index/<run>/<dataset>)")
    parser.add_argument("--aligned", type=Path, default=None, help="candidate texts (default: data/aligned/<dataset>)")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    add_params_argument(parser)


def read_questions(args: argparse.Namespace) -> list[str]:
    questions = list(args.questions)
    if args.file is not None:
        if not args.file.exists():
            raise MixbatchError(f"--file {args.file}: no such file")
        questions += [line.strip() for line in args.file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not questions:
        raise MixbatchError("no question: give one or more as arguments, or --file with one per line")
    return questions


def candidate_texts(dataset: str, aligned: Path, ids: list[str]) -> dict[str, str]:
    """{candidate id: text} for the index's ids."""
    langs = list(dict.fromkeys(i.split(":", 1)[0] for i in ids)) if kind(dataset) == "tatoeba" else "all"
    side = load_sides(dataset, aligned, tatoeba_languages=langs)["candidates"]
    return dict(zip(side.ids, side.texts))


def hits(params: dict, run_name: str, dataset: str, questions: list[str], k: int, model: Path | None = None,
         index_dir: Path | None = None, aligned: Path | None = None) -> pd.DataFrame:
    """question, rank, score, lang, id, text: the top k candidates of each question."""
    run = grid.find_run(params, run_name)
    if kind(dataset) == "miracl":
        raise MixbatchError("MIRACL passages come from the hub and their texts are not kept: search a LAReQA set or tatoeba")
    model = model or Path(paths.model_dir(run.name, run.trained))
    index_dir = index_dir or Path(paths.INDEX.format(run=run.name, dataset=dataset))
    aligned = aligned or Path(paths.ALIGNED.format(dataset=dataset))
    index = load_index(index_dir / "candidates.faiss")
    ids = read_table(index_dir / "candidates_ids.parquet", ["cid", "lang"])
    encoder = load_encoder(model, EncoderSettings.from_params(params["model"]))
    vectors = encode_texts(encoder, questions, "query", batch_size=64, desc="questions")
    scores, rows = search(index, vectors, min(k, index.ntotal))
    texts = candidate_texts(dataset, aligned, ids["cid"].astype(str).tolist())
    out = []
    for question, row_scores, row_ids in zip(questions, scores, rows):
        for rank, (score, i) in enumerate(zip(row_scores, row_ids), start=1):
            if i >= 0:
                cid = str(ids["cid"].iat[i])
                out.append({"question": question, "rank": rank, "score": float(score), "lang": str(ids["lang"].iat[i]),
                            "id": cid, "text": texts.get(cid, "")})
    return pd.DataFrame(out)


def main(args: argparse.Namespace) -> None:
    params = load_section(args, "grid", "model")
    found = hits(params, args.run, args.dataset, read_questions(args), args.k, args.model, args.index, args.aligned)
    for question, rows in found.groupby("question", sort=False):
        if args.json:
            print(json.dumps({"question": question, "hits": rows.drop(columns="question").to_dict("records")},
                             ensure_ascii=False))
            continue
        print(f"\n{question}")
        for r in rows.itertuples():
            print(f"{r.rank:>3}  {r.score:.4f}  {r.lang:<3}  {r.text}")
