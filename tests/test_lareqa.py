"""The LAReQA parser: tables, qrels and parallelism on a hand-written fixture, and every bad input."""

from __future__ import annotations

import json

import pytest

from lareqa_fixture import lareqa_docs, write_lareqa
from mixbatch.data.lareqa import align_lareqa
from mixbatch.errors import MixbatchError


def test_tables_from_fixture(tmp_path):
    questions, candidates, qrels, report = align_lareqa(write_lareqa(tmp_path), ("en", "de"))
    assert list(questions.columns) == ["qid", "xling_id", "lang", "text"]
    assert sorted(questions["qid"]) == ["de:q1", "de:q2", "en:q1", "en:q2", "en:q3"]
    # Every sentence is a candidate: en 2 + 3, de 2 + 2.
    assert report["languages"] == {"en": {"questions": 3, "candidates": 5}, "de": {"questions": 2, "candidates": 4}}
    assert set(candidates.columns) >= {"cid", "lang", "sentence", "context", "article_id", "paragraph_id", "sentence_id"}
    assert candidates.set_index("cid").loc["de:1:0:1", "sentence"] == "Er endet in Ägypten."
    # q2's answer is sentence 2 in English and sentence 1 in German; both are relevant to both questions.
    rel = qrels.groupby("qid")["cid"].apply(set).to_dict()
    assert rel["en:q2"] == rel["de:q2"] == {"en:1:0:2", "de:1:0:1"}
    assert rel["en:q3"] == {"en:1:0:1"}  # only English has q3
    assert report["parallel_ids"] == {"2": 2, "1": 1}
    assert report["ids"] == 3


def _broken(tmp_path, mutate):
    docs = lareqa_docs()
    mutate(docs)
    return write_lareqa(tmp_path, docs)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["de"]["data"][1]["paragraphs"][0].pop("sentences"), r"de\.json: data\[1\]\.paragraphs\[0\]: missing field 'sentences'"),
        (lambda d: d["en"]["data"][0]["paragraphs"][0]["qas"][0]["answers"][0].update(answer_start=999),
         r"en\.json: data\[0\]\.paragraphs\[0\]\.qas\[0\] \(id q1\): answer_start 999 is outside every sentence"),
        (lambda d: d["en"]["data"][1]["paragraphs"][0]["qas"][1].update(id="q2"), r"en\.json: .*duplicate question id 'q2'"),
        (lambda d: d["de"]["data"][0]["paragraphs"][0]["qas"][0].update(question="  "), r"de\.json: .*\(id q1\)\.question: empty text"),
        (lambda d: d["en"]["data"][1]["paragraphs"][0]["sentences"].__setitem__(0, ""), r"en\.json: data\[1\]\.paragraphs\[0\]\.sentences\[0\]: empty text"),
        (lambda d: d["en"]["data"][0]["paragraphs"][0]["sentence_breaks"].pop(), r"en\.json: .*2 sentences but 1 sentence_breaks"),
        (lambda d: d["de"]["data"][0]["paragraphs"][0]["qas"][0].update(answers=[]), r"de\.json: .*\(id q1\): no answers"),
    ],
    ids=["missing-field", "answer-outside", "duplicate-id", "empty-question", "empty-sentence", "breaks-mismatch", "no-answers"],
)
def test_bad_records_name_file_and_record(tmp_path, mutate, message):
    with pytest.raises(MixbatchError, match=message):
        align_lareqa(_broken(tmp_path, mutate), ("en", "de"))


def test_malformed_json_names_file_and_position(tmp_path):
    folder = write_lareqa(tmp_path)
    (folder / "de.json").write_text('{"data": [', encoding="utf-8")
    with pytest.raises(MixbatchError, match=r"de\.json: malformed JSON at line 1"):
        align_lareqa(folder, ("en", "de"))


def test_missing_language_file(tmp_path):
    with pytest.raises(MixbatchError, match=r"es\.json: language file for 'es' is missing"):
        align_lareqa(write_lareqa(tmp_path), ("en", "de", "es"))


def test_sentence_span_mismatch_is_counted_not_fatal(tmp_path):
    def shift(d):
        d["en"]["data"][0]["paragraphs"][0]["sentence_breaks"][0][1] -= 1

    _, _, _, report = align_lareqa(_broken(tmp_path, shift), ("en", "de"))
    assert report["languages"]["en"]["sentence_differs_from_its_span"] == 1


def test_wrong_type_is_named(tmp_path):
    folder = write_lareqa(tmp_path)
    (folder / "en.json").write_text(json.dumps({"data": {"title": "x"}}), encoding="utf-8")
    with pytest.raises(MixbatchError, match=r"en\.json: top level\.data: expected list, got dict"):
        align_lareqa(folder, ("en", "de"))
