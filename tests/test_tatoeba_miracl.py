"""Tatoeba pairs and MIRACL topics/qrels parsing, with their bad inputs."""

from __future__ import annotations

import pytest

from mixbatch.data.miracl import align_miracl
from mixbatch.data.tatoeba import align_tatoeba
from mixbatch.errors import MixbatchError


def _tatoeba(folder, lang, src_lines, eng_lines):
    folder.mkdir(exist_ok=True)
    (folder / f"tatoeba.{lang}-eng.{lang}").write_text("".join(l + "\n" for l in src_lines), encoding="utf-8")
    (folder / f"tatoeba.{lang}-eng.eng").write_text("".join(l + "\n" for l in eng_lines), encoding="utf-8")


def test_tatoeba_pairs(tmp_path):
    _tatoeba(tmp_path, "deu", ["Hallo.", "Danke."], ["Hello.", "Thanks."])
    _tatoeba(tmp_path, "fra", ["Merci."], ["Thanks."])
    (tmp_path / "README.md").write_text("not a pair file")
    pairs, report = align_tatoeba(tmp_path)
    assert pairs.to_dict("records") == [
        {"lang": "deu", "index": 0, "text": "Hallo.", "eng": "Hello."},
        {"lang": "deu", "index": 1, "text": "Danke.", "eng": "Thanks."},
        {"lang": "fra", "index": 0, "text": "Merci.", "eng": "Thanks."},
    ]
    assert report["languages"] == {"deu": {"pairs": 2}, "fra": {"pairs": 1}}


def test_tatoeba_misaligned_files(tmp_path):
    _tatoeba(tmp_path, "deu", ["Hallo.", "Danke."], ["Hello."])
    with pytest.raises(MixbatchError, match=r"tatoeba\.deu-eng\.deu has 2 lines but .*tatoeba\.deu-eng\.eng has 1"):
        align_tatoeba(tmp_path)


def test_tatoeba_empty_line(tmp_path):
    _tatoeba(tmp_path, "deu", ["Hallo.", " "], ["Hello.", "Thanks."])
    with pytest.raises(MixbatchError, match=r"tatoeba\.deu-eng\.deu: line 2 is empty"):
        align_tatoeba(tmp_path)


def test_tatoeba_no_files(tmp_path):
    with pytest.raises(MixbatchError, match="no tatoeba"):
        align_tatoeba(tmp_path)


def _miracl(folder, lang, topics, qrels):
    (folder / f"topics.miracl-v1.0-{lang}-dev.tsv").write_text(topics, encoding="utf-8")
    (folder / f"qrels.miracl-v1.0-{lang}-dev.tsv").write_text(qrels, encoding="utf-8")


def test_miracl_tables(tmp_path):
    _miracl(tmp_path, "sw", "6\tBandari kubwa iko wapi?\n8\tMji mkuu?\n", "6\tQ0\t32589#0\t1\n6\tQ0\t33690#3\t0\n8 Q0 1#1 1\n")
    questions, qrels, report = align_miracl(tmp_path, ("sw",))
    assert questions["qid"].tolist() == ["sw:6", "sw:8"] and questions["text"][1] == "Mji mkuu?"
    assert qrels.to_dict("records")[1] == {"qid": "sw:6", "docid": "33690#3", "relevance": 0, "lang": "sw"}
    assert report["languages"]["sw"] == {"questions": 2, "judgements": 3, "relevant": 2}


@pytest.mark.parametrize(
    "topics, qrels, message",
    [
        ("6\tA?\n6\tB?\n", "", r"topics\.miracl-v1\.0-sw-dev\.tsv: line 2: duplicate qid '6'"),
        ("6 A?\n", "", r"topics\.miracl-v1\.0-sw-dev\.tsv: line 1: expected 2 non-empty fields"),
        ("6\tA?\n", "6 Q0 1#1\n", r"qrels\.miracl-v1\.0-sw-dev\.tsv: line 1: expected 4 non-empty fields"),
        ("6\tA?\n", "7 Q0 1#1 1\n", r"qrels\.miracl-v1\.0-sw-dev\.tsv: line 1: qid '7' has no topic"),
        ("6\tA?\n", "6 Q0 1#1 yes\n", r"line 1: relevance 'yes' is not an integer"),
    ],
)
def test_miracl_bad_lines(tmp_path, topics, qrels, message):
    _miracl(tmp_path, "sw", topics, qrels)
    with pytest.raises(MixbatchError, match=message):
        align_miracl(tmp_path, ("sw",))


def test_miracl_missing_language(tmp_path):
    with pytest.raises(MixbatchError, match=r"topics\.miracl-v1\.0-yo-dev\.tsv: MIRACL file is missing"):
        align_miracl(tmp_path, ("yo",))
