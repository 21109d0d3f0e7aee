"""Write small LAReQA-format files by hand for the parser tests.

Two articles in English and German; ids q1..q3, with q3 only in English, so the
fixture has ids that are 2-way and 1-way parallel.
"""

from __future__ import annotations

import json
from pathlib import Path


def _para(sentences: list[str], qas: list[tuple[str, str, int]]) -> dict:
    """A paragraph from its sentences (joined by spaces) and (id, question, answer sentence index)."""
    context, breaks, pos = "", [], 0
    for s in sentences:
        if context:
            context += " "
            pos += 1
        breaks.append([pos, pos + len(s)])
        context += s
        pos += len(s)
    return {
        "context": context,
        "sentences": sentences,
        "sentence_breaks": breaks,
        "qas": [
            {"id": qid, "question": q, "answers": [{"text": sentences[k][:5], "answer_start": breaks[k][0] + 1}]}
            for qid, q, k in qas
        ],
    }


def lareqa_docs() -> dict[str, dict]:
    en = {"version": "1", "data": [
        {"title": "Ports", "paragraphs": [
            _para(["Mombasa is a city.", "It has the largest port in Kenya."], [("q1", "Which port is the largest?", 1)]),
        ]},
        {"title": "Rivers", "paragraphs": [
            _para(["The Nile is long.", "It flows north.", "It ends in Egypt."],
                  [("q2", "Where does the Nile end?", 2), ("q3", "Which way does it flow?", 1)]),
        ]},
    ]}
    de = {"version": "1", "data": [
        {"title": "Häfen", "paragraphs": [
            _para(["Mombasa ist eine Stadt.", "Sie hat den größten Hafen Kenias."], [("q1", "Welcher Hafen ist der größte?", 1)]),
        ]},
        {"title": "Flüsse", "paragraphs": [
            _para(["Der Nil ist lang.", "Er endet in Ägypten."], [("q2", "Wo endet der Nil?", 1)]),
        ]},
    ]}
    return {"en": en, "de": de}


def write_lareqa(folder: Path, docs: dict[str, dict] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for lang, doc in (docs or lareqa_docs()).items():
        (folder / f"{lang}.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return folder
