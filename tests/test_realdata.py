"""The real mirrored files: download + align reproduce the published counts (PAPER.md)."""

from __future__ import annotations

import pytest

from mixbatch.stages import align, download

pytestmark = pytest.mark.realdata

XQUAD_R_CANDIDATES = {"ar": 1222, "de": 1276, "el": 1234, "en": 1180, "es": 1215, "hi": 1244,
                      "ru": 1219, "th": 852, "tr": 1167, "vi": 1209, "zh": 1196}
MLQA_R = {"ar": (517, 2545), "de": (512, 2362), "en": (1148, 6264), "es": (500, 1787),
          "hi": (507, 2426), "vi": (511, 2828), "zh": (504, 2322)}


@pytest.fixture(scope="module")
def aligned(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    reports = {}
    for dataset in ("xquad-r", "mlqa-r", "tatoeba", "miracl"):
        rec = download.run(dataset, root / "raw" / dataset, [shared_data], timeout=5, retries=0)
        assert rec["files"] and all(set(f) == {"name", "url", "sha256"} for f in rec["files"])
        reports[dataset] = align.run(dataset, root / "raw" / dataset, root / "aligned" / dataset)
    return root, reports


def test_xquad_r_published_counts(aligned):
    report = aligned[1]["xquad-r"]
    assert {l: v["questions"] for l, v in report["languages"].items()} == {l: 1190 for l in XQUAD_R_CANDIDATES}
    assert {l: v["candidates"] for l, v in report["languages"].items()} == XQUAD_R_CANDIDATES
    assert report["parallel_ids"] == {"11": 1190}
    assert report["tables"] == {"questions": 13090, "candidates": 13014, "qrels": 1190 * 11 * 11}


def test_mlqa_r_published_counts(aligned):
    report = aligned[1]["mlqa-r"]
    assert {l: (v["questions"], v["candidates"]) for l, v in report["languages"].items()} == MLQA_R
    assert report["ids"] == 1148
    assert report["parallel_ids"] == {"4": 820, "3": 263, "2": 65}


def test_qrels_hold_the_answer_in_every_language(aligned):
    import pandas as pd

    folder = aligned[0] / "aligned" / "mlqa-r"
    q = pd.read_parquet(folder / "questions.parquet")
    r = pd.read_parquet(folder / "qrels.parquet")
    ways = q.groupby("xling_id").size()
    per_q = r.groupby("qid").size()
    # a question of a k-way id has exactly k relevant candidates, one per language
    expected = q.set_index("qid")["xling_id"].map(ways)
    assert (per_q.reindex(expected.index) == expected).all()
    assert r["cid"].str.split(":").str[0].groupby(r["qid"]).nunique().eq(per_q).all()


def test_tatoeba_and_miracl(aligned):
    tatoeba, miracl = aligned[1]["tatoeba"], aligned[1]["miracl"]
    assert len(tatoeba["languages"]) == 112 and tatoeba["pairs"] == 88877
    assert tatoeba["languages"]["deu"] == {"pairs": 1000}
    assert len(miracl["languages"]) == 18
    assert miracl["languages"]["sw"]["questions"] == 482
    assert miracl["tables"]["qrels"] == 130408
