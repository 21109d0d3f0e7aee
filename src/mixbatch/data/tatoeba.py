"""Parse the Tatoeba test set (LASER v1, as used by XTREME / XTREME-R) into aligned pairs.

Line i of tatoeba.<xxx>-eng.<xxx> translates line i of tatoeba.<xxx>-eng.eng, for 112
three-letter language codes <xxx>.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from mixbatch.errors import MixbatchError

_PAIR_FILE = re.compile(r"tatoeba\.([a-z]{3})-eng\.\1$")


def tatoeba_languages(raw_dir: Path) -> list[str]:
    return sorted(m.group(1) for f in raw_dir.iterdir() if (m := _PAIR_FILE.match(f.name)))


def _read_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MixbatchError(f"{path}: Tatoeba file is missing") from None
    except UnicodeDecodeError as e:
        raise MixbatchError(f"{path}: not UTF-8 text ({e})") from None
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def read_pairs(raw_dir: Path, lang: str) -> pd.DataFrame:
    """One language's aligned pairs: lang, index (line number), text, eng."""
    src_path = raw_dir / f"tatoeba.{lang}-eng.{lang}"
    eng_path = raw_dir / f"tatoeba.{lang}-eng.eng"
    src, eng = _read_lines(src_path), _read_lines(eng_path)
    if len(src) != len(eng):
        raise MixbatchError(f"{src_path} has {len(src)} lines but {eng_path} has {len(eng)}: not aligned")
    for i, (a, b) in enumerate(zip(src, eng)):
        if not a.strip() or not b.strip():
            bad = src_path if not a.strip() else eng_path
            raise MixbatchError(f"{bad}: line {i + 1} is empty")
    return pd.DataFrame({"lang": lang, "index": range(len(src)), "text": src, "eng": eng})


def align_tatoeba(raw_dir: Path) -> tuple[pd.DataFrame, dict]:
    langs = tatoeba_languages(raw_dir)
    if not langs:
        raise MixbatchError(f"{raw_dir}: no tatoeba.<xxx>-eng.<xxx> files found")
    pairs = pd.concat([read_pairs(raw_dir, lang) for lang in langs], ignore_index=True)
    counts = pairs.groupby("lang").size()
    report = {"languages": {lang: {"pairs": int(n)} for lang, n in counts.items()}, "pairs": len(pairs)}
    return pairs, report
