"""Small hand-written evaluation tables in the aligned format (DEVELOPERS.md, "Data
contracts"), for the encode / index / score tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

# (xling_id, {lang: (question, answer sentence)}); id "q3" has no Greek version, so the
# en->el and de->el pairs must skip it.
ITEMS = [
    ("q1", {"en": ("Where is the largest port in Kenya?", "The port of Mombasa is the largest in Kenya."),
            "de": ("Wo ist der größte Hafen Kenias?", "Der Hafen von Mombasa ist der größte Kenias."),
            "el": ("Πού βρίσκεται το μεγαλύτερο λιμάνι της Κένυας;", "Το λιμάνι της Μομπάσα είναι το μεγαλύτερο.")}),
    ("q2", {"en": ("Which port is in Kenya?", "Mombasa is a port."),
            "de": ("Welcher Hafen ist in Kenia?", "Mombasa ist ein Hafen."),
            "el": ("Ποιο λιμάνι είναι στην Κένυα;", "Η Μομπάσα είναι λιμάνι.")}),
    ("q3", {"en": ("Is the port large?", "It is the largest."),
            "de": ("Ist der Hafen groß?", "Er ist der größte.")}),
]
FILLER = {"en": "Kenya is in Africa.", "de": "Kenia liegt in Afrika.", "el": "Η Κένυα είναι στην Αφρική."}


def write_lareqa(folder: Path) -> Path:
    """questions / candidates / qrels.parquet: per language one paragraph per item
    (answer sentence + a filler sentence)."""
    folder.mkdir(parents=True, exist_ok=True)
    questions, candidates, qrels = [], [], []
    for lang in ("de", "el", "en"):
        for p, (xid, langs) in enumerate(ITEMS):
            if lang not in langs:
                continue
            question, answer = langs[lang]
            context = f"{answer} {FILLER[lang]}"
            questions.append({"qid": f"{lang}:{xid}", "xling_id": xid, "lang": lang, "text": question})
            for s, sentence in enumerate((answer, FILLER[lang])):
                candidates.append({"cid": f"{lang}:0:{p}:{s}", "lang": lang, "sentence": sentence, "context": context,
                                   "article_id": 0, "paragraph_id": p, "sentence_id": s})
    for q in questions:
        p = [x for x, _ in ITEMS].index(q["xling_id"])
        for lang in ITEMS[p][1]:
            qrels.append({"qid": q["qid"], "cid": f"{lang}:0:{p}:0"})
    pd.DataFrame(questions).to_parquet(folder / "questions.parquet", index=False)
    pd.DataFrame(candidates).to_parquet(folder / "candidates.parquet", index=False)
    pd.DataFrame(qrels).to_parquet(folder / "qrels.parquet", index=False)
    return folder


def write_tatoeba(folder: Path) -> Path:
    """pairs.parquet with two languages of three sentences each."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for lang, code in (("de", "deu"), ("el", "ell")):
        for i, (_, langs) in enumerate(ITEMS):
            if lang in langs:
                rows.append({"lang": code, "index": i, "text": langs[lang][1], "eng": langs["en"][1]})
    pd.DataFrame(rows).to_parquet(folder / "pairs.parquet", index=False)
    return folder


def write_params(path: Path, **overrides) -> Path:
    """A params.yaml with the evaluation sections (small batch, small score blocks)."""
    import yaml

    params = {"encode": {"batch_size": 2}, "score": {"block_size": 2}}
    for section, values in overrides.items():
        params.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(params))
    return path
