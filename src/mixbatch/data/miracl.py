"""Parse MIRACL dev topics and qrels (anserini-tools TSVs) into question and qrels tables.

topics.miracl-v1.0-<lang>-dev.tsv: "qid<TAB>query"; qrels.miracl-v1.0-<lang>-dev.tsv:
"qid Q0 docid relevance" (docid "<article>#<n>"). The passage corpus is not here: it
comes from the Hugging Face hub at scoring time, where it can be reached.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mixbatch.errors import MixbatchError


def _rows(path: Path, n_fields: int, split_tab_only: bool):
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise MixbatchError(f"{path}: MIRACL file is missing") from None
    for i, line in enumerate(lines, start=1):
        fields = line.split("\t") if split_tab_only else line.split()
        if len(fields) != n_fields or not all(f.strip() for f in fields):
            raise MixbatchError(f"{path}: line {i}: expected {n_fields} non-empty fields, got {line!r}")
        yield i, fields


def read_language(raw_dir: Path, lang: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    topics_path = raw_dir / f"topics.miracl-v1.0-{lang}-dev.tsv"
    qrels_path = raw_dir / f"qrels.miracl-v1.0-{lang}-dev.tsv"
    topics = {}
    for i, (qid, text) in _rows(topics_path, 2, split_tab_only=True):
        if qid in topics:
            raise MixbatchError(f"{topics_path}: line {i}: duplicate qid {qid!r}")
        topics[qid] = text
    qrels = []
    for i, (qid, _q0, docid, rel) in _rows(qrels_path, 4, split_tab_only=False):
        if qid not in topics:
            raise MixbatchError(f"{qrels_path}: line {i}: qid {qid!r} has no topic in {topics_path.name}")
        try:
            qrels.append((f"{lang}:{qid}", docid, int(rel), lang))
        except ValueError:
            raise MixbatchError(f"{qrels_path}: line {i}: relevance {rel!r} is not an integer") from None
    questions = pd.DataFrame(
        {"qid": [f"{lang}:{q}" for q in topics], "xling_id": [f"{lang}:{q}" for q in topics],
         "lang": lang, "text": list(topics.values())}
    )
    return questions, pd.DataFrame(qrels, columns=["qid", "docid", "relevance", "lang"])


def align_miracl(raw_dir: Path, languages: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    parts = [read_language(raw_dir, lang) for lang in languages]
    questions = pd.concat([q for q, _ in parts], ignore_index=True)
    qrels = pd.concat([r for _, r in parts], ignore_index=True)
    report = {
        "languages": {
            lang: {"questions": len(q), "judgements": len(r), "relevant": int((r["relevance"] > 0).sum())}
            for lang, (q, r) in zip(languages, parts)
        }
    }
    return questions, qrels, report
