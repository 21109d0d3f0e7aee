"""Parse LAReQA-format files (XQuAD-R, MLQA-R) into aligned long-format tables.

A file is SQuAD-like: {"data": [{"title", "paragraphs": [{"context", "sentences",
"sentence_breaks", "qas": [{"id", "question", "answers": [{"text", "answer_start"}]}]}]}]}.
Every sentence of every paragraph is a retrieval candidate (this gives the published
candidate counts, duplicates included). A question's answer sentence is the one whose
[start, end) span in `sentence_breaks` holds `answer_start`; the question id is shared by
all translations (the xling_id), so the relevant candidates of a question are the answer
sentences of its id in every language.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mixbatch.errors import MixbatchError


@dataclass
class LanguageTables:
    """One language file, parsed: rows for the three tables plus counted anomalies."""

    questions: list[dict] = field(default_factory=list)
    candidates: list[dict] = field(default_factory=list)
    answer_cid: dict[str, str] = field(default_factory=dict)  # xling_id -> cid of the answer sentence
    notes: Counter = field(default_factory=Counter)


def _require(obj, key: str, where: str, path: Path, kind=None):
    if not isinstance(obj, dict) or key not in obj:
        raise MixbatchError(f"{path}: {where}: missing field {key!r}")
    value = obj[key]
    if kind is not None and not isinstance(value, kind):
        raise MixbatchError(f"{path}: {where}.{key}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _nonempty(text: str, where: str, path: Path) -> str:
    if not text.strip():
        raise MixbatchError(f"{path}: {where}: empty text")
    return text


def _answer_sentence(breaks: list, answer_start: int) -> int | None:
    for i, (start, end) in enumerate(breaks):
        if start <= answer_start < end:
            return i
    return None


def parse_language_file(path: Path, lang: str) -> LanguageTables:
    """Parse one <lang>.json; errors name the file and the record (data[i].paragraphs[j]...)."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise MixbatchError(f"{path}: language file for {lang!r} is missing") from None
    except json.JSONDecodeError as e:
        raise MixbatchError(f"{path}: malformed JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    out = LanguageTables()
    for a, article in enumerate(_require(doc, "data", "top level", path, list)):
        for p, para in enumerate(_require(article, "paragraphs", f"data[{a}]", path, list)):
            where = f"data[{a}].paragraphs[{p}]"
            context = _require(para, "context", where, path, str)
            sentences = _require(para, "sentences", where, path, list)
            breaks = _require(para, "sentence_breaks", where, path, list)
            if len(sentences) != len(breaks):
                raise MixbatchError(
                    f"{path}: {where}: {len(sentences)} sentences but {len(breaks)} sentence_breaks"
                )
            for s, (sentence, (start, end)) in enumerate(zip(sentences, breaks)):
                _nonempty(sentence, f"{where}.sentences[{s}]", path)
                if context[start:end] != sentence:
                    out.notes["sentence_differs_from_its_span"] += 1  # published data has a few; the sentence wins
                out.candidates.append({
                    "cid": f"{lang}:{a}:{p}:{s}", "lang": lang, "sentence": sentence, "context": context,
                    "article_id": a, "paragraph_id": p, "sentence_id": s,
                })
            for k, qa in enumerate(_require(para, "qas", where, path, list)):
                _add_question(out, qa, f"{where}.qas[{k}]", path, lang, breaks, (a, p))
    return out


def _add_question(out: LanguageTables, qa: dict, where: str, path: Path, lang: str, breaks: list, ap) -> None:
    xling_id = str(_require(qa, "id", where, path))
    where = f"{where} (id {xling_id})"
    text = _nonempty(_require(qa, "question", where, path, str), f"{where}.question", path)
    answers = _require(qa, "answers", where, path, list)
    if not answers:
        raise MixbatchError(f"{path}: {where}: no answers")
    answer_start = _require(answers[0], "answer_start", f"{where}.answers[0]", path, int)
    s = _answer_sentence(breaks, answer_start)
    if s is None:
        raise MixbatchError(f"{path}: {where}: answer_start {answer_start} is outside every sentence span")
    if xling_id in out.answer_cid:
        raise MixbatchError(f"{path}: {where}: duplicate question id {xling_id!r}")
    out.answer_cid[xling_id] = f"{lang}:{ap[0]}:{ap[1]}:{s}"
    out.questions.append({"qid": f"{lang}:{xling_id}", "xling_id": xling_id, "lang": lang, "text": text})


def align_lareqa(raw_dir: Path, languages: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """Parse <raw_dir>/<lang>.json for every language; return questions, candidates, qrels, report."""
    parsed = {lang: parse_language_file(raw_dir / f"{lang}.json", lang) for lang in languages}
    questions = pd.DataFrame([r for t in parsed.values() for r in t.questions])
    candidates = pd.DataFrame([r for t in parsed.values() for r in t.candidates])
    # Relevant: the answer sentence of the same xling_id in every language that has it.
    answers = pd.DataFrame(
        [(x, cid) for t in parsed.values() for x, cid in t.answer_cid.items()], columns=["xling_id", "cid"]
    )
    qrels = questions[["qid", "xling_id"]].merge(answers, on="xling_id")[["qid", "cid"]]
    ways = Counter(Counter(questions["xling_id"]).values())
    report = {
        "languages": {
            lang: {"questions": len(t.questions), "candidates": len(t.candidates), **dict(t.notes)}
            for lang, t in parsed.items()
        },
        "ids": int(questions["xling_id"].nunique()),
        "parallel_ids": {str(k): ways[k] for k in sorted(ways, reverse=True)},
        "qrels": len(qrels),
    }
    return questions, candidates, qrels, report
