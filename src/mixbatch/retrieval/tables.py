"""Read the aligned evaluation tables (DEVELOPERS.md, "Data contracts") into the two sides
that get encoded, and check them.

Every evaluation data set is two sides, "questions" and "candidates", each a table with
an id column, a `lang` column and a text, whose row order is the row order of the
embedding files that `mixbatch encode` writes:

| dataset | questions side (query prefix) | candidates side |
|---|---|---|
| xquad-r, mlqa-r-valid (LAReQA kind) | questions.parquet (qid) | candidates.parquet (cid), sentence or sentence + context (passage prefix) |
| tatoeba | pairs.parquet: `text` (id "<lang>:<index>") | pairs.parquet: `eng`, same rows (query prefix: a symmetric task) |
| miracl | questions.parquet (qid) | the hub corpus, when reachable (mixbatch.retrieval.miracl_corpus) |
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mixbatch.data.datasets import kind
from mixbatch.errors import MixbatchError
from mixbatch.metrics.tatoeba import select_languages


@dataclass
class Side:
    """One side of a data set: ids, languages and texts, in embedding row order."""

    ids: list[str]
    lang: list[str]
    texts: list[str]
    is_query: bool  # "query: " prefix (else "passage: ")

    def id_table(self, id_column: str) -> pd.DataFrame:
        return pd.DataFrame({id_column: self.ids, "lang": self.lang})


def read_table(path: Path, columns: list[str]) -> pd.DataFrame:
    """Read a Parquet table; a missing file or column is a MixbatchError naming both."""
    if not path.exists():
        raise MixbatchError(f"{path}: not found (run the stage that writes it first: align, split or encode)")
    try:
        df = pd.read_parquet(path)
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
        raise MixbatchError(f"{path}: not a readable Parquet table ({e})") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MixbatchError(f"{path}: missing column(s) {missing}; has {list(df.columns)}")
    if df.empty:
        raise MixbatchError(f"{path}: the table is empty")
    for col in columns:
        if df[col].isna().any():
            raise MixbatchError(f"{path}: column {col!r} has empty values (first row {int(df[col].isna().idxmax())})")
    return df


def _side(df: pd.DataFrame, id_col: str, text: pd.Series, is_query: bool, where: Path) -> Side:
    empty = text.astype(str).str.strip() == ""
    if empty.any():
        raise MixbatchError(f"{where}: {int(empty.sum())} empty texts (first id {df[id_col][empty].iloc[0]!r})")
    if df[id_col].duplicated().any():
        raise MixbatchError(f"{where}: duplicate {id_col} {df[id_col][df[id_col].duplicated()].iloc[0]!r}")
    return Side(df[id_col].astype(str).tolist(), df["lang"].astype(str).tolist(), text.astype(str).tolist(), is_query)


def load_sides(dataset: str, aligned: Path, candidate_text: str = "sentence",
               tatoeba_languages: str | list[str] = "all") -> dict[str, Side]:
    """The sides of `dataset` that can be encoded offline: {"questions": Side, "candidates": Side}
    (MIRACL: questions only; its candidates come from the hub corpus).

    candidate_text: "sentence" or "sentence+context" (the LAReQA candidates; ignored elsewhere).
    tatoeba_languages: params `encode.tatoeba_languages` (Tatoeba only).
    """
    aligned = Path(aligned)
    if kind(dataset) == "lareqa":
        q = read_table(aligned / "questions.parquet", ["qid", "xling_id", "lang", "text"])
        c = read_table(aligned / "candidates.parquet", ["cid", "lang", "sentence", "context"])
        if candidate_text == "sentence":
            c_text = c["sentence"]
        elif candidate_text == "sentence+context":
            # LAReQA's sentence + context encoding: the sentence, then its paragraph.
            c_text = c["sentence"].astype(str) + " " + c["context"].astype(str)
        else:
            raise MixbatchError(f"encode.candidate_text: {candidate_text!r}; allowed: sentence, sentence+context")
        return {
            "questions": _side(q, "qid", q["text"], True, aligned / "questions.parquet"),
            "candidates": _side(c, "cid", c_text, False, aligned / "candidates.parquet"),
        }
    if kind(dataset) == "tatoeba":
        p = read_table(aligned / "pairs.parquet", ["lang", "index", "text", "eng"])
        try:
            keep = select_languages(list(dict.fromkeys(p["lang"].astype(str))), tatoeba_languages)
        except ValueError as e:
            raise MixbatchError(f"{aligned / 'pairs.parquet'}: {e}") from None
        p = p[p["lang"].isin(keep)].reset_index(drop=True)
        p = p.assign(pid=p["lang"].astype(str) + ":" + p["index"].astype(str))
        where = aligned / "pairs.parquet"
        return {
            "questions": _side(p, "pid", p["text"], True, where),
            "candidates": _side(p, "pid", p["eng"], True, where),
        }
    if kind(dataset) == "miracl":
        q = read_table(aligned / "questions.parquet", ["qid", "lang", "text"])
        return {"questions": _side(q, "qid", q["text"], True, aligned / "questions.parquet")}
    raise AssertionError(dataset)  # kind() names every data set


def lareqa_qrel_rows(aligned: Path, qids: list[str], cids: list[str]) -> np.ndarray:
    """qrels.parquet as (question row, candidate row) pairs; unknown ids are an error."""
    path = Path(aligned) / "qrels.parquet"
    if not path.exists():
        raise MixbatchError(f"{path}: not found; a LAReQA data set needs its qrels to be scored")
    qrels = pd.read_parquet(path)
    if not {"qid", "cid"} <= set(qrels.columns):
        raise MixbatchError(f"{path}: needs columns qid, cid; has {list(qrels.columns)}")
    if qrels.empty:
        raise MixbatchError(f"{path}: no qrels; nothing would be relevant to any question")
    q_row = pd.Series(np.arange(len(qids)), index=qids)
    c_row = pd.Series(np.arange(len(cids)), index=cids)
    unknown_q = ~qrels["qid"].isin(q_row.index)
    unknown_c = ~qrels["cid"].isin(c_row.index)
    if unknown_q.any() or unknown_c.any():
        bad = qrels[unknown_q | unknown_c].iloc[0]
        raise MixbatchError(
            f"{path}: {int((unknown_q | unknown_c).sum())} qrels name ids missing from the questions or "
            f"candidates tables (first: {bad['qid']!r} -> {bad['cid']!r})"
        )
    return np.stack([q_row[qrels["qid"]].to_numpy(), c_row[qrels["cid"]].to_numpy()], axis=1)


def load_embeddings(folder: Path, side: str, expected_ids: list[str], id_col: str) -> np.ndarray:
    """<side>.npy, checked against <side>_ids.parquet and the aligned table's ids (same order)."""
    npy, ids_path = folder / f"{side}.npy", folder / f"{side}_ids.parquet"
    for p in (npy, ids_path):
        if not p.exists():
            raise MixbatchError(f"{p}: not found (run `mixbatch encode` for this run and data set)")
    try:
        emb = np.load(npy, allow_pickle=False)
    except (ValueError, EOFError, OSError) as e:  # truncated or not an .npy file
        raise MixbatchError(f"{npy}: not a readable .npy array ({e}); re-run `mixbatch encode`") from None
    ids = read_table(ids_path, [id_col])[id_col].astype(str).tolist()
    if emb.ndim != 2 or len(emb) != len(ids):
        raise MixbatchError(f"{npy}: {emb.shape[0] if emb.ndim else 0} rows, but {ids_path} lists {len(ids)} ids")
    if ids != expected_ids:
        first = next((i for i, (a, b) in enumerate(zip(ids, expected_ids)) if a != b), min(len(ids), len(expected_ids)))
        raise MixbatchError(
            f"{ids_path}: ids out of step with the aligned table ({len(ids)} vs {len(expected_ids)} rows, "
            f"first difference at row {first}); re-run `mixbatch encode`"
        )
    if not np.isfinite(emb).all():
        raise MixbatchError(f"{npy}: contains NaN or infinite values")
    return emb
