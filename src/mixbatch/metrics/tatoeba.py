"""Tatoeba sentence retrieval (XTREME / XTREME-R): accuracy@1 per language, both directions.

Input: for each language, the embeddings of its non-English sentences and of their
English translations, row i translating row i (pairs.parquet order). For xx->en, each
xx sentence retrieves among that file's English sentences by inner product (cosine for
unit vectors); it is right when its own translation (same row) scores strictly higher
than every other row. A tie with another row counts as wrong (pessimistic, like the rank
convention in metrics.ranking); the XTREME code's argmax would take the first row.
As in XTREME, the English side is not deduplicated: a repeated English sentence is a
different row.
"""

from __future__ import annotations

import numpy as np

# XTREME-R's Tatoeba languages (google-research/xtreme utils_preprocess.py, tatoeba):
# XTREME's 36 plus aze, lit, pol, ukr, ron; codes as in the LASER file names.
XTREME_R_LANGS = (
    "afr ara bul ben deu ell spa est eus pes fin fra heb hin hun ind ita jpn jav kat kaz kor "
    "mal mar nld por rus swh tam tel tha tgl tur urd vie cmn aze lit pol ukr ron"
).split()
# The XQuAD-R languages other than English, in Tatoeba's codes (zh is Mandarin, cmn).
XQUAD_R_LANGS = "ara deu ell spa hin rus tha tur vie cmn".split()
NAMED_SETS = {"xquad-r": XQUAD_R_LANGS, "xtreme-r": XTREME_R_LANGS}


def select_languages(available: list[str], choice: str | list[str]) -> list[str]:
    """The Tatoeba languages that params `encode.tatoeba_languages` asks for, in file order.

    Raises ValueError naming the codes that the data does not have.
    """
    if choice == "all":
        return list(available)
    wanted = NAMED_SETS[choice] if isinstance(choice, str) else list(choice)
    missing = sorted(set(wanted) - set(available))
    if missing:
        raise ValueError(f"encode.tatoeba_languages: no Tatoeba data for {', '.join(missing)}; "
                         f"available: {' '.join(available)}")
    return [lang for lang in available if lang in set(wanted)]


def accuracy_at_1(src: np.ndarray, tgt: np.ndarray) -> float:
    """Share of rows i of src whose nearest row of tgt is row i (strictly)."""
    if len(src) != len(tgt):
        raise ValueError(f"{len(src)} source rows for {len(tgt)} target rows")
    if len(src) == 0:
        raise ValueError("no sentences")
    scores = src.astype(np.float64) @ tgt.astype(np.float64).T
    own = np.diag(scores).copy()
    np.fill_diagonal(scores, -np.inf)
    return float((own > scores.max(axis=1)).mean()) if len(src) > 1 else 1.0


def evaluate(langs: np.ndarray, xx: np.ndarray, eng: np.ndarray, headline: str = "xtreme-r") -> dict:
    """Per-language accuracy (xx->en, en->xx, their mean) and macro means.

    langs: (n,) language code of each row; xx, eng: (n, d) row-aligned embeddings.
    Returns {"mean": {...headline set...}, "mean_all": {...}, "mean_xtreme_r": {...},
    "per_lang": {lang: {"xx->en", "en->xx", "mean", "n"}}}.
    """
    if not (len(langs) == len(xx) == len(eng)):
        raise ValueError(f"{len(langs)} pairs, {len(xx)} and {len(eng)} embedding rows")
    per_lang = {}
    for lang in dict.fromkeys(langs.tolist()):
        rows = np.flatnonzero(langs == lang)
        fwd, back = accuracy_at_1(xx[rows], eng[rows]), accuracy_at_1(eng[rows], xx[rows])
        per_lang[lang] = {"xx->en": fwd, "en->xx": back, "mean": (fwd + back) / 2, "n": int(len(rows))}

    def mean_over(chosen: list[str]) -> dict:
        if not chosen:
            return {}
        out = {k: float(np.mean([per_lang[l][k] for l in chosen])) for k in ("xx->en", "en->xx", "mean")}
        out["n_languages"] = len(chosen)
        return out

    xtreme_r = [l for l in XTREME_R_LANGS if l in per_lang]
    result = {"mean_all": mean_over(list(per_lang)), "mean_xtreme_r": mean_over(xtreme_r)}
    result["mean"] = result["mean_xtreme_r"] if headline == "xtreme-r" else result["mean_all"]
    result["missing_xtreme_r"] = [l for l in XTREME_R_LANGS if l not in per_lang]
    result["per_lang"] = per_lang
    return result
