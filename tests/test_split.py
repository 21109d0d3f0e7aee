"""The train/validation split: by whole xling_id, seeded, deterministic."""

from __future__ import annotations

import pandas as pd
import pytest

from lareqa_fixture import write_lareqa
from mixbatch.data.lareqa import align_lareqa
from mixbatch.data.split import PAIR_COLUMNS, question_answer_pairs, train_valid_split
from mixbatch.errors import MixbatchError


def _pairs(n_ids=200, langs=("en", "de", "zh")):
    rows = [
        {"xling_id": f"id{i}", "lang": lang, "qid": f"{lang}:id{i}", "question": "q", "cid": f"{lang}:{i}",
         "sentence": "s", "context": "c"}
        for i in range(n_ids) for lang in langs[: 1 + i % len(langs)]
    ]
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def test_pairs_from_aligned_tables(tmp_path):
    q, c, r, _ = align_lareqa(write_lareqa(tmp_path), ("en", "de"))
    pairs = question_answer_pairs(q, c, r)
    assert len(pairs) == len(q)
    row = pairs.set_index("qid").loc["de:q2"]
    assert row["sentence"] == "Er endet in Ägypten." and row["cid"] == "de:1:0:1"
    assert row["context"].startswith("Der Nil ist lang.")


def test_split_keeps_ids_whole_and_is_seeded():
    pairs = _pairs()
    train, valid = train_valid_split(pairs, 0.1, seed=13, salt="mlqa-r")
    assert set(train["xling_id"]).isdisjoint(valid["xling_id"])
    assert valid["xling_id"].nunique() == 20  # 10% of 200 ids
    assert len(train) + len(valid) == len(pairs)
    # every translation of an id is on the same side
    for side in (train, valid):
        ids = set(side["xling_id"])
        assert (pairs[pairs["xling_id"].isin(ids)].shape[0]) == len(side)
    again, _ = train_valid_split(pairs, 0.1, seed=13, salt="mlqa-r")
    pd.testing.assert_frame_equal(train, again)
    other, _ = train_valid_split(pairs, 0.1, seed=14, salt="mlqa-r")
    assert set(other["xling_id"]) != set(train["xling_id"])


def test_split_needs_two_ids():
    with pytest.raises(MixbatchError, match="cannot split 1 id"):
        train_valid_split(_pairs(n_ids=1), 0.1, seed=0, salt="x")
