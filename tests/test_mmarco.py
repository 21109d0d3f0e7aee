"""mMARCO: a hub-layout folder -> split tables with shared ids; caps; split; errors; offline fetch.

tests/fixtures/mmarco/ is laid out like the hub repo unicamp-dl/mmarco (same relative
paths, file names and TSV formats) for english, german, french and chinese (Google
translation), with 10 training queries. By design: query 42 has two positives in the
triples (13 and 130; the smaller, 13, is used), query 9999 is in the query files but not
in the triples, the French queries lack 511, the Chinese collection lacks 1300 (the
positive of 2048), passages 5/50/500 are only negatives, and the query files are not
sorted by id. All text was written for these tests.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from mixbatch.batching.aligned import read_split
from mixbatch.batching.checks import check_batches
from mixbatch.batching import batch_type_probs
from mixbatch.batching.sampler import BatchSampler
from mixbatch.batching.writer import shard_table
from mixbatch.data import mmarco
from mixbatch.data.mmarco import (LANGUAGE_CODES, MMARCO_REPO, MMARCO_REVISION, TRIPLES_PATH, fetch_mmarco,
                                  hub_files, training_pairs, write_mmarco_split)
from mixbatch.data.split import PAIR_COLUMNS, train_valid_split
from mixbatch.errors import MixbatchError

FIXTURE = Path(__file__).parent / "fixtures" / "mmarco"
LANGS = ["en", "de", "fr", "zh"]
ALL_IDS = ["3", "17", "42", "108", "256", "511", "1024", "2048", "4097", "8191"]


def hub_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "hub"))


def row(df: pd.DataFrame, xling_id: str, lang: str) -> dict:
    found = df[(df["xling_id"] == xling_id) & (df["lang"] == lang)]
    assert len(found) == 1
    return found.iloc[0].to_dict()


def test_fixture_is_laid_out_like_the_hub():
    files = sorted(str(p.relative_to(FIXTURE)) for p in FIXTURE.rglob("*") if p.is_file())
    assert files == sorted(hub_files(LANGS))
    assert hub_files(["de"]) == [
        "data/triples.train.ids.small.tsv",
        "data/google/queries/train/german_queries.train.tsv",
        "data/google/collections/german_collection.tsv",
    ]
    assert hub_files(["zh"], "helsinki")[1:] == [
        "data/helsinki/queries/train/chinese_queries.train.tsv",
        "data/helsinki/collections/chinese_collection.tsv",
    ]
    assert len(LANGUAGE_CODES) == 14 and len(set(LANGUAGE_CODES.values())) == 14


def test_rows_hand_checked():
    df, report = training_pairs(FIXTURE, LANGS)
    assert list(df.columns) == PAIR_COLUMNS
    assert len(df) == 38  # 4 languages x 10 queries, less fr 511 and zh 2048
    assert row(df, "42", "de") == {
        "xling_id": "42", "lang": "de", "qid": "de:42", "question": "wie viele Beine hat eine Spinne",
        "cid": "de:13", "sentence": "Spinnen haben acht Beine, die am Kopfbruststück sitzen.",
        "context": "Spinnen haben acht Beine, die am Kopfbruststück sitzen.",
    }
    assert row(df, "108", "zh") == {
        "xling_id": "108", "lang": "zh", "qid": "zh:108", "question": "水的沸点是多少",
        "cid": "zh:70", "sentence": "在海平面上，水在100摄氏度沸腾。", "context": "在海平面上，水在100摄氏度沸腾。",
    }
    assert row(df, "8191", "en")["question"] == "what is the largest ocean"
    assert row(df, "8191", "en")["sentence"] == "The Pacific is the largest and deepest ocean."
    assert row(df, "2048", "fr")["cid"] == "fr:1300"
    present = set(zip(df["xling_id"], df["lang"]))
    assert ("511", "fr") not in present and ("2048", "zh") not in present
    assert ("511", "zh") in present and ("2048", "fr") in present
    assert "9999" not in set(df["xling_id"])  # not a training query
    # sorted by language, then numeric query id
    assert df["lang"].tolist() == sorted(df["lang"])
    for _, part in df.groupby("lang"):
        assert part["xling_id"].astype(int).is_monotonic_increasing
    assert report["queries"] == {"in_triples": 10, "selected": 10}
    assert report["languages"]["fr"] == {"name": "french", "rows": 9, "missing_query": 1, "missing_passage": 0,
                                         "missing_examples": [511]}
    assert report["languages"]["zh"]["missing_passage"] == 1
    assert report["languages"]["zh"]["missing_examples"] == [2048]


def test_ids_are_shared_across_languages():
    df, _ = training_pairs(FIXTURE, LANGS)
    assert (df["qid"] == df["lang"] + ":" + df["xling_id"]).all()
    assert (df["cid"].str.split(":").str[0] == df["lang"]).all()
    pid = df["cid"].str.split(":").str[1]
    assert (pid.groupby(df["xling_id"]).nunique() == 1).all()  # one positive pid per query, every language
    per_id = df.groupby("xling_id")["lang"].apply(set)
    assert sorted(per_id.index, key=int) == ALL_IDS
    assert per_id["3"] == set(LANGS) and per_id["511"] == {"en", "de", "zh"} and per_id["2048"] == {"en", "de", "fr"}


def test_language_subset_and_order_do_not_matter():
    a, _ = training_pairs(FIXTURE, ["zh", "en"])
    b, _ = training_pairs(FIXTURE, ["en", "zh", "en"])
    pd.testing.assert_frame_equal(a, b)
    assert set(a["lang"]) == {"en", "zh"} and len(a) == 19


def test_query_caps():
    first, report = training_pairs(FIXTURE, LANGS, max_queries=3)
    assert sorted(set(first["xling_id"]), key=int) == ["3", "17", "42"]  # numeric, not string, order
    assert len(first) == 12 and report["queries"] == {"in_triples": 10, "selected": 3}
    seeded, _ = training_pairs(FIXTURE, LANGS, max_queries=4, query_seed=7)
    again, _ = training_pairs(FIXTURE, LANGS, max_queries=4, query_seed=7)
    pd.testing.assert_frame_equal(seeded, again)
    assert len(set(seeded["xling_id"])) == 4 and set(seeded["xling_id"]) <= set(ALL_IDS)
    seeds = {tuple(sorted(set(training_pairs(FIXTURE, ["en"], max_queries=4, query_seed=s)[0]["xling_id"])))
             for s in range(5)}
    assert len(seeds) > 1  # the seed chooses
    everything, _ = training_pairs(FIXTURE, LANGS, max_queries=100)
    assert len(everything) == 38
    with pytest.raises(MixbatchError, match="max_queries = -1"):
        training_pairs(FIXTURE, LANGS, max_queries=-1)


def test_split_by_id(tmp_path):
    out = tmp_path / "split" / "mmarco"
    report = write_mmarco_split(FIXTURE, out, LANGS, valid_fraction=0.3, seed=13)
    train, valid = pd.read_parquet(out / "train.parquet"), pd.read_parquet(out / "valid.parquet")
    assert list(train.columns) == PAIR_COLUMNS and list(valid.columns) == PAIR_COLUMNS
    assert not set(train["xling_id"]) & set(valid["xling_id"])
    assert len(set(valid["xling_id"])) == 3
    # every translation of an id is on the same side, and nothing is lost
    full, _ = training_pairs(FIXTURE, LANGS)
    for xid in set(valid["xling_id"]):
        assert (full["xling_id"] == xid).sum() == (valid["xling_id"] == xid).sum()
    assert len(train) + len(valid) == len(full) == 38
    # the same id-level draw as mixbatch.data.split.train_valid_split on the whole table
    ref_train, ref_valid = train_valid_split(full, 0.3, 13, salt="mmarco")
    key = ["lang", "xling_id"]
    for got, ref in ((train, ref_train), (valid, ref_valid)):
        pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                      ref.sort_values(key).reset_index(drop=True))
    saved = json.loads((out / "split.json").read_text())
    assert saved == json.loads(json.dumps(report))
    assert saved["valid"]["ids"] == 3 and saved["train"]["ids"] == 7
    assert saved["train"]["rows"] + saved["valid"]["rows"] == 38
    assert sum(saved["valid"]["languages"].values()) == len(valid)
    again = write_mmarco_split(FIXTURE, tmp_path / "again", LANGS, valid_fraction=0.3, seed=13)
    assert again["valid"] == report["valid"]


def test_output_is_read_by_the_shards_stage(tmp_path):
    out = tmp_path / "split" / "mmarco"
    write_mmarco_split(FIXTURE, out, LANGS, valid_fraction=0.2, seed=13)
    train = pd.read_parquet(out / "train.parquet")
    aligned = read_split("mmarco", out / "train.parquet", LANGS, "sentence", tmp_path / "store")
    assert aligned.num_rows == len(train)
    assert aligned.ids_per_language() == train.groupby("lang").size().to_dict()
    check_batches([aligned], LANGS, 4, batch_type_probs("xy"))
    plan = BatchSampler([aligned], 4, batch_type_probs("xy"), np.random.default_rng(3)).draw(6)
    shard = shard_table(plan, [aligned], first_batch=0).to_pandas()
    assert len(shard) == 24 and set(shard["batch_type"]) == {"xy"}
    assert (shard["q_lang"] != shard["p_lang"]).all()
    assert (shard.groupby("batch")["xling_id"].nunique() == 4).all()
    text = train.set_index(["xling_id", "lang"])
    for r in shard.itertuples():
        assert r.query == text.loc[(r.xling_id, r.q_lang), "question"]
        assert r.positive == text.loc[(r.xling_id, r.p_lang), "sentence"]
    with_context = read_split("mmarco", out / "train.parquet", LANGS, "sentence+context", tmp_path / "store2")
    assert with_context.num_rows == len(train)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


GOOGLE = "data/google"


@pytest.mark.parametrize("file, old, new, message", [
    (f"{GOOGLE}/collections/german_collection.tsv", "13\tSpinnen", "13\tx\tSpinnen",
     r"german_collection\.tsv: line 4: expected 2 tab-separated fields, got 3"),
    (TRIPLES_PATH, "3\t7\t50\n", "3\t7\n", r"triples\.train\.ids\.small\.tsv: line 2: expected 3 tab-separated"),
    (TRIPLES_PATH, "42\t130\t5", "42\t130\tfive", r"triples\.train\.ids\.small\.tsv: line 3: negative pid 'five'"),
    (f"{GOOGLE}/queries/train/english_queries.train.tsv", "3\thow", "q3\thow",
     r"english_queries\.train\.tsv: line 2: query id 'q3' is not an integer id"),
    (f"{GOOGLE}/queries/train/german_queries.train.tsv", "4097\twann fiel die Berliner Mauer\n",
     "4097\twann fiel die Berliner Mauer\n42\tnoch einmal\n",
     r"german_queries\.train\.tsv: line 12: query 42 again \(first at line 5\)"),
    (f"{GOOGLE}/queries/train/french_queries.train.tsv", "256\tqui a peint la Joconde", "256\t  ",
     r"french_queries\.train\.tsv: line 4: query 256 has empty text"),
])
def test_malformed_input_names_file_and_line(tmp_path, file, old, new, message):
    hub = hub_copy(tmp_path)
    _edit(hub / file, old, new)
    with pytest.raises(MixbatchError, match=message):
        training_pairs(hub, LANGS)


def test_bad_utf8_and_missing_file(tmp_path):
    hub = hub_copy(tmp_path)
    path = hub / GOOGLE / "collections" / "english_collection.tsv"
    path.write_bytes(path.read_bytes().replace(b"Cats sleep", b"Cats \xff sleep"))
    with pytest.raises(MixbatchError, match=r"english_collection\.tsv: line 2: not UTF-8"):
        training_pairs(hub, ["en"])
    (hub / GOOGLE / "collections" / "french_collection.tsv").unlink()
    with pytest.raises(MixbatchError, match=r"french_collection\.tsv: mMARCO file is missing") as err:
        training_pairs(hub, LANGS)
    assert "laid out like the hub" in str(err.value) and MMARCO_REPO in str(err.value)


def test_missing_translation_can_be_an_error():
    with pytest.raises(MixbatchError, match=r"french \(fr\): query 511 is not in .*french_queries\.train\.tsv"):
        training_pairs(FIXTURE, ["en", "fr"], missing="error")
    with pytest.raises(MixbatchError, match=r"chinese \(zh\): the positive passage 1300 of query 2048 is not in "
                                            r".*chinese_collection\.tsv"):
        training_pairs(FIXTURE, ["en", "zh"], missing="error")
    df, _ = training_pairs(FIXTURE, ["en", "de"], missing="error")  # complete languages pass
    assert len(df) == 20
    with pytest.raises(MixbatchError, match="missing = 'skip' is not allowed"):
        training_pairs(FIXTURE, ["en"], missing="skip")


def test_unknown_languages_and_translation():
    with pytest.raises(MixbatchError, match=r"languages xx not available; allowed: ar, de, en"):
        training_pairs(FIXTURE, ["en", "xx"])
    with pytest.raises(MixbatchError, match=r"\(helsinki\) languages ar not available"):
        hub_files(["ar"], "helsinki")
    with pytest.raises(MixbatchError, match="translation 'deepl' is not allowed; allowed: google, helsinki"):
        hub_files(["en"], "deepl")


@pytest.mark.parametrize("var", ["HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"])
def test_offline_fetch_fails_fast_with_a_clear_message(tmp_path, monkeypatch, var):
    monkeypatch.setenv(var, "1")

    def no_network(*args, **kwargs):
        raise AssertionError("the network must not be tried offline")

    monkeypatch.setattr(requests, "head", no_network)
    started = time.monotonic()
    with pytest.raises(MixbatchError) as err:
        fetch_mmarco(tmp_path / "hub", ["en", "de"])
    assert time.monotonic() - started < 1.0
    msg = str(err.value)
    assert f"mMARCO needs the Hugging Face hub, which cannot be reached ({var} is set)" in msg
    assert str(tmp_path / "hub" / "data/google/collections/german_collection.tsv") in msg
    assert "laid out like the hub repo" in msg and "point the converter at that folder" in msg
    assert f"hf download {MMARCO_REPO}" in msg and MMARCO_REVISION in msg


def test_unreachable_hub_fails_with_the_probe_error(tmp_path, monkeypatch):
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)

    def refused(url, timeout):
        assert MMARCO_REPO in url and timeout == 2.5
        raise requests.ConnectionError("refused")

    monkeypatch.setattr(requests, "head", refused)
    with pytest.raises(MixbatchError, match=r"cannot be reached \(ConnectionError\)"):
        fetch_mmarco(tmp_path / "hub", ["en"], timeout_s=2.5)


def test_fetch_downloads_the_hub_paths(tmp_path, monkeypatch):
    import huggingface_hub

    calls = []

    def fake_download(repo_id, filename, *, repo_type, revision, local_dir):
        calls.append((repo_id, filename, repo_type, revision))
        target = Path(local_dir) / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURE / filename, target)
        return str(target)

    monkeypatch.setattr(mmarco, "hub_reachable", lambda repo, timeout_s: (True, ""))
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    paths = fetch_mmarco(tmp_path / "hub", ["zh", "en"])
    assert [c[1] for c in calls] == hub_files(["en", "zh"])
    assert {(c[0], c[2], c[3]) for c in calls} == {(MMARCO_REPO, "dataset", MMARCO_REVISION)}
    assert all(p.is_file() for p in paths)
    df, _ = training_pairs(tmp_path / "hub", ["en", "zh"])
    assert len(df) == 19
    # a rerun with everything present needs no hub, even offline
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert fetch_mmarco(tmp_path / "hub", ["en", "zh"]) == paths and len(calls) == 5


def test_one_params_change_trains_on_mmarco_in_both_front_doors():
    """split.datasets: [mlqa-r, mmarco] adds mMARCO's download and split jobs, and every
    run's shards read both training sets."""
    from mixbatch.config import validate_params
    from mixbatch.pipeline.table import jobs

    params = validate_params({"split": {"datasets": ["mlqa-r", "mmarco"]}})
    by_name = {j.name: j for j in jobs(params)}
    assert "download/mmarco" in by_name and "split/mmarco" in by_name and "align/mmarco" not in by_name
    assert by_name["split/mmarco"].deps == ("data/raw/mmarco",)
    assert "data/split/mmarco" in by_name["shards/hybrid-s13"].deps


def test_offline_download_stage_says_it_needs_the_hub(tmp_path, monkeypatch, capsys):
    from mixbatch.cli import main as cli

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert cli(["download", "--dataset", "mmarco", "--out", str(tmp_path / "raw"), "--params",
                str(Path(__file__).resolve().parents[1] / "params.yaml")]) == 2
    err = capsys.readouterr().err
    assert "mMARCO needs the Hugging Face hub" in err and "Traceback" not in err


def test_split_stage_converts_the_fetched_files_for_the_shards(tmp_path):
    """The pipeline's own stages on the fixture (laid out like the hub): split, then shards."""
    import json

    import yaml

    from mixbatch.cli import main as cli

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"split": {"datasets": ["mmarco"], "valid_fraction": 0.2},
                                      "mmarco": {"languages": LANGS, "max_queries": 0},
                                      "shards": {"languages": LANGS, "batch_size": 4, "num_batches": 3},
                                      "grid": {"runs": {"xy": {"sampling": "xy"}}, "seeds": [1]}}))
    assert cli(["split", "--dataset", "mmarco", "--raw", str(FIXTURE), "--out", str(tmp_path / "split" / "mmarco"),
                "--params", str(params)]) == 0
    assert cli(["shards", "--run", "xy", "--seed", "1", "--split-dir", str(tmp_path / "split"),
                "--out", str(tmp_path / "shards"), "--params", str(params)]) == 0
    manifest = json.loads((tmp_path / "shards" / "manifest.json").read_text())
    assert manifest["batches"] == 3 and manifest["datasets"] == ["mmarco"]
