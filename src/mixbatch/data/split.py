"""Deterministic train/validation split of an aligned LAReQA data set by xling_id.

Whole ids go to one side, so no translation of a validation item is ever trained on.
The output has one row per (xling_id, lang): the question and its answer sentence (with
the paragraph as context) in that language, the unit that batch sampling draws from.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from mixbatch.errors import MixbatchError

PAIR_COLUMNS = ["xling_id", "lang", "qid", "question", "cid", "sentence", "context"]


def question_answer_pairs(questions: pd.DataFrame, candidates: pd.DataFrame, qrels: pd.DataFrame) -> pd.DataFrame:
    """Each question with its answer sentence in its own language."""
    rel = qrels.merge(candidates[["cid", "lang", "sentence", "context"]], on="cid")
    q = questions.rename(columns={"text": "question"})
    pairs = q.merge(rel, on=["qid", "lang"], how="left")
    missing = pairs["cid"].isna()
    if missing.any():
        raise MixbatchError(
            f"{int(missing.sum())} questions have no answer sentence in their own language "
            f"(first: {pairs.loc[missing, 'qid'].iloc[0]})"
        )
    return pairs[PAIR_COLUMNS].reset_index(drop=True)


def split_ids(xling_ids: pd.Series, valid_fraction: float, seed: int, salt: str) -> set[str]:
    """The validation ids: a seeded random `valid_fraction` of the distinct ids (at least one)."""
    ids = np.array(sorted(set(xling_ids)))
    if len(ids) < 2:
        raise MixbatchError(f"cannot split {len(ids)} id(s) into train and validation")
    rng = np.random.default_rng([seed, zlib.crc32(salt.encode())])
    n_valid = min(max(1, round(valid_fraction * len(ids))), len(ids) - 1)
    return set(ids[rng.permutation(len(ids))[:n_valid]].tolist())


def train_valid_split(pairs: pd.DataFrame, valid_fraction: float, seed: int, salt: str):
    valid_ids = split_ids(pairs["xling_id"], valid_fraction, seed, salt)
    is_valid = pairs["xling_id"].isin(valid_ids)
    return pairs[~is_valid].reset_index(drop=True), pairs[is_valid].reset_index(drop=True)


def heldout_tables(questions: pd.DataFrame, candidates: pd.DataFrame, qrels: pd.DataFrame,
                   valid_ids: set[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The aligned tables of an evaluation set that scores held-out ids only: the questions
    of `valid_ids` (every language) and their qrels, against the whole candidate pool (as
    the data set defines it, so the task is as hard as on the full set)."""
    held = questions[questions["xling_id"].isin(valid_ids)].reset_index(drop=True)
    return held, candidates, qrels[qrels["qid"].isin(set(held["qid"]))].reset_index(drop=True)
