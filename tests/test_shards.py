"""Batch sampling behaviour of `mixbatch shards`: X-X, X-Y, hybrid, random, mixed, no duplicate ids, determinism."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import stats
from shards_fixture import split_table, write_params, write_split

from mixbatch.batching.sampler import IdStream
from mixbatch.batching.writer import SHARD_SCHEMA
from mixbatch.cli import main as cli
from mixbatch.io import sha256_file

SEVEN = {"ar": 30, "de": 25, "en": 40, "es": 20, "hi": 12, "vi": 18, "zh": 28}
# every sampling under its own name (the schema's default runs lack random and mixed)
RUNS = {name: {"sampling": name} for name in ("xx", "xy", "hybrid", "random", "mixed")}


def build(tmp_path: Path, run: str = "hybrid", runs: dict | None = None, train=SEVEN, valid=None,
          out: str = "shards", datasets: dict | None = None, seed: int = 13,
          **shards) -> tuple[pd.DataFrame, dict, Path]:
    """Write a split + params, run the CLI; return (all train rows, train manifest, out folder)."""
    split_dir = tmp_path / "split"
    for name, (tr, va) in (datasets or {"mlqa-r": (train, valid or {k: 10 for k in train})}).items():
        write_split(split_dir, name, tr, va, prefix=name[0])
    all_langs = sorted({lang for tr, _ in (datasets or {"": (train, None)}).values() for lang in tr})
    shards = {"batch_size": 8, "num_batches": 60, "languages": all_langs, **shards}
    params = write_params(tmp_path / "params.yaml", shards, RUNS if runs is None else runs,
                          datasets=list(datasets or ["mlqa-r"]), seed=seed)
    target = tmp_path / out
    argv = ["shards", "--run", run, "--seed", str(seed), "--split-dir", str(split_dir), "--out", str(target), "--params", str(params)]
    assert cli(argv) == 0
    manifest = json.loads((target / "manifest.json").read_text())
    rows = pd.concat([pd.read_parquet(target / s["file"]) for s in manifest["shards"]], ignore_index=True)
    return rows, manifest, target


def assert_rows_match_data(rows: pd.DataFrame) -> None:
    """Each row's texts are its id's question / answer sentence in its q_lang / p_lang."""
    assert (rows["query"] == rows["q_lang"] + " question " + rows["xling_id"]).all()
    assert (rows["positive"] == rows["p_lang"] + " sentence " + rows["xling_id"]).all()


def test_xx_batches_are_single_language(tmp_path):
    rows, manifest, _ = build(tmp_path, run="xx")
    per_batch = rows.groupby("batch").agg(q=("q_lang", "nunique"), p=("p_lang", "nunique"), t=("batch_type", "unique"))
    assert (per_batch["q"] == 1).all() and (per_batch["p"] == 1).all()
    assert (rows["q_lang"] == rows["p_lang"]).all() and set(rows["batch_type"]) == {"xx"}
    assert_rows_match_data(rows)
    # the batch language is drawn uniformly: each of the 7 languages appears
    assert rows.groupby("batch")["q_lang"].first().nunique() == 7
    assert manifest["batch_types"] == {"xx": 60, "xy": 0}


def test_xy_rows_all_differ_in_language(tmp_path):
    rows, manifest, _ = build(tmp_path, run="xy")
    assert (rows["q_lang"] != rows["p_lang"]).all() and set(rows["batch_type"]) == {"xy"}
    assert_rows_match_data(rows)  # so both languages of each pair exist for that id
    # pairs are drawn per example: batches mix languages, and many ordered pairs occur
    assert (rows.groupby("batch")["q_lang"].nunique() > 1).all()
    assert rows.groupby(["q_lang", "p_lang"]).ngroups >= 30
    hist = manifest["language_pairs"]
    assert sum(n for q in hist.values() for n in q.values()) == len(rows) == manifest["rows"]
    assert all(q not in hist[q] for q in hist)


def test_xy_pairs_stay_within_the_languages_an_id_has(tmp_path):
    # ids x000-x002 exist in en, de, hi; x003-x009 only in en and de: no hi pair for them
    rows, _, _ = build(tmp_path, run="xy", train={"en": 10, "de": 10, "hi": 3}, valid={"en": 4, "de": 4, "hi": 2},
                       batch_size=4)
    hi_ids = set(rows.loc[(rows["q_lang"] == "hi") | (rows["p_lang"] == "hi"), "xling_id"])
    assert hi_ids and hi_ids <= {"m000", "m001", "m002"}
    assert_rows_match_data(rows)


def test_hybrid_xx_fraction_matches_alpha(tmp_path):
    alpha, n = 0.3, 2000
    rows, manifest, _ = build(tmp_path, runs={"h": {"sampling": "hybrid", "alpha": alpha}}, run="h",
                              num_batches=n, batch_size=4, batches_per_shard=400)
    types = rows.groupby("batch")["batch_type"].agg(["nunique", "first"])
    assert (types["nunique"] == 1).all()  # a batch is entirely one type
    xx = int((types["first"] == "xx").sum())
    assert manifest["batch_types"] == {"xx": xx, "xy": n - xx}
    sigma = math.sqrt(n * alpha * (1 - alpha))
    assert abs(xx - n * alpha) < 4 * sigma, (xx, n * alpha, sigma)
    assert_rows_match_data(rows)


def languages_of_ids(ids_per_lang: dict[str, int], prefix: str = "m") -> dict[str, frozenset]:
    """Each id of a nested fixture (shards_fixture) -> the languages it exists in."""
    return {f"{prefix}{i:03d}": frozenset(lang for lang, n in ids_per_lang.items() if i < n)
            for i in range(max(ids_per_lang.values()))}


def uniformity_p_value(rows: pd.DataFrame, column: str, ids_per_lang: dict[str, int]) -> float:
    """Chi-square p-value of "`column` is uniform over each row's id's languages": rows are
    grouped by their id's language set, each group's counts are tested against uniform
    over its languages, and the statistics and degrees of freedom add up."""
    langs = rows["xling_id"].map(languages_of_ids(ids_per_lang))
    statistic, dof = 0.0, 0
    for group, column_values in rows[column].groupby(langs):
        observed = column_values.value_counts().reindex(sorted(group), fill_value=0).to_numpy()
        assert observed.sum() == len(column_values)  # no row outside its id's languages
        if len(group) > 1:
            statistic += stats.chisquare(observed).statistic
            dof += len(group) - 1
    return float(stats.chi2.sf(statistic, dof))


def test_random_languages_are_independent_and_uniform(tmp_path):
    # every id in all 4 languages: (q_lang, p_lang) is uniform over the 16 ordered pairs
    langs, n = {"de": 40, "en": 40, "es": 40, "zh": 40}, 4000
    rows, manifest, _ = build(tmp_path, run="random", train=langs, num_batches=n // 8, batches_per_shard=100)
    assert len(rows) == n and set(rows["batch_type"]) == {"random"}
    assert manifest["batch_types"] == {"random": n // 8}
    assert_rows_match_data(rows)
    # q == p with probability 1/4: binomial, 4 standard deviations
    same = int((rows["q_lang"] == rows["p_lang"]).sum())
    assert abs(same - n / 4) < 4 * math.sqrt(n * 0.25 * 0.75), same
    # the joint histogram against uniform (expected 250 a cell): chi-square, 15 degrees of freedom
    joint = rows.groupby(["q_lang", "p_lang"]).size().reindex(
        pd.MultiIndex.from_product([sorted(langs)] * 2), fill_value=0)
    assert stats.chisquare(joint.to_numpy()).pvalue > 1e-3, joint
    hist = manifest["language_pairs"]
    assert sum(hist[q][q] for q in langs) == same  # the manifest counts q == p pairs too


def test_random_stays_within_the_languages_an_id_has(tmp_path):
    # nested ids: m000-m011 in 7 languages ... m030-m039 only in en
    rows, _, _ = build(tmp_path, run="random", num_batches=600, batches_per_shard=200)
    assert_rows_match_data(rows)  # both languages of every pair exist for its id
    for column in ("q_lang", "p_lang"):
        assert uniformity_p_value(rows, column, SEVEN) > 1e-3
    # q == p with probability 1 / (the id's number of languages)
    k = rows["xling_id"].map({i: len(v) for i, v in languages_of_ids(SEVEN).items()})
    same = rows["q_lang"] == rows["p_lang"]
    assert same[k == 1].all() and (rows.loc[k == 1, "q_lang"] == "en").all()
    seven = same[k == 7]
    assert abs(seven.sum() - len(seven) / 7) < 4 * math.sqrt(len(seven) * (1 / 7) * (6 / 7))


def test_mixed_pairs_are_one_language_and_batches_mix_languages(tmp_path):
    full = {lang: 40 for lang in SEVEN}
    rows, manifest, _ = build(tmp_path, run="mixed", train=full, num_batches=500, batches_per_shard=100)
    assert (rows["q_lang"] == rows["p_lang"]).all() and set(rows["batch_type"]) == {"mixed"}
    assert manifest["batch_types"] == {"mixed": 500}
    assert_rows_match_data(rows)
    # one language per row, drawn per row: a batch of 8 among 7 languages holds several
    # (all 8 alike has probability 7 / 7**8 per batch), 7 * (1 - (6/7)**8) = 4.96 on average
    per_batch = rows.groupby("batch")["q_lang"].nunique()
    assert (per_batch > 1).all()
    assert abs(per_batch.mean() - 7 * (1 - (6 / 7) ** 8)) < 0.15, per_batch.mean()
    counts = rows["q_lang"].value_counts().reindex(sorted(full)).to_numpy()
    assert stats.chisquare(counts).pvalue > 1e-3, counts


def test_mixed_language_is_uniform_over_the_languages_an_id_has(tmp_path):
    rows, _, _ = build(tmp_path, run="mixed", num_batches=600, batches_per_shard=200)
    assert (rows["q_lang"] == rows["p_lang"]).all()
    assert_rows_match_data(rows)
    assert uniformity_p_value(rows, "q_lang", SEVEN) > 1e-3


@pytest.mark.parametrize("run", ["random", "mixed"])
def test_random_and_mixed_use_every_id_evenly(tmp_path, run):
    # one pool of all 40 ids (those in at least one language): 60 batches of 8 = 12 passes
    rows, _, _ = build(tmp_path, run=run)
    counts = rows["xling_id"].value_counts()
    assert len(counts) == 40 and counts.min() == counts.max() == 12


@pytest.mark.parametrize("run", ["random", "mixed"])
def test_random_and_mixed_rebuild_byte_identical_and_seed_changes_them(tmp_path, run):
    _, first, out_a = build(tmp_path, run=run, num_batches=20, batches_per_shard=7, out="a")
    _, _, out_b = build(tmp_path, run=run, num_batches=20, batches_per_shard=7, out="b")
    _, _, out_c = build(tmp_path, run=run, num_batches=20, batches_per_shard=7, out="c", seed=14)
    for s in first["shards"]:
        assert (out_a / s["file"]).read_bytes() == (out_b / s["file"]).read_bytes()
        assert (out_a / s["file"]).read_bytes() != (out_c / s["file"]).read_bytes()
    for sub in ("", "valid"):
        assert (out_a / sub / "manifest.json").read_bytes() == (out_b / sub / "manifest.json").read_bytes()


def test_mixed_over_several_datasets_sampled_by_size(tmp_path):
    big, small = {"en": 60, "de": 60, "es": 60}, {"en": 20, "de": 20, "es": 20}
    valid = {"en": 6, "de": 6}
    rows, manifest, _ = build(tmp_path, run="mixed", datasets={"mlqa-r": (big, valid), "xquad-r": (small, valid)},
                              num_batches=800, batch_size=4, batches_per_shard=200)
    per_batch = rows.groupby("batch")["dataset"].agg(["nunique", "first"])
    assert (per_batch["nunique"] == 1).all()
    share = (per_batch["first"] == "mlqa-r").mean()
    assert abs(share - 0.75) < 4 * math.sqrt(0.75 * 0.25 / 800), share
    assert manifest["batch_types"] == {"mixed": 800}
    assert (rows["xling_id"].str[0] == rows["dataset"].str[0]).all()
    assert_rows_match_data(rows)


@pytest.mark.parametrize("run", ["xx", "xy", "hybrid", "random", "mixed"])
def test_no_duplicate_xling_id_in_any_batch(tmp_path, run):
    # batch 7 from pools of 12-40 ids: batches often straddle two permutations of a pool
    rows, _, _ = build(tmp_path, run=run, batch_size=7, num_batches=300)
    sizes = rows.groupby("batch")["xling_id"].agg(["size", "nunique"])
    assert (sizes["size"] == sizes["nunique"]).all()
    assert (sizes["size"] == 7).all()


def test_id_stream_batches_are_duplicate_free_and_even():
    rng = np.random.default_rng(0)
    stream = IdStream(np.arange(10), batch_size=4, rng=rng)
    batches = np.concatenate([stream.take(k) for k in (1, 3, 7, 4)])  # 15 batches = 6 passes over 10 ids
    assert all(len(set(b)) == 4 for b in batches)
    counts = np.bincount(batches.ravel(), minlength=10)
    assert counts.min() >= 5 and counts.max() <= 7  # every id used about equally


def test_small_language_gives_smaller_batches_reported_in_manifest(tmp_path):
    rows, manifest, _ = build(tmp_path, run="xx", train={"en": 20, "de": 20, "hi": 5},
                              valid={"en": 6, "de": 6, "hi": 3}, batch_size=8, num_batches=60)
    sizes = rows.groupby("batch").agg(n=("xling_id", "size"), lang=("q_lang", "first"))
    assert (sizes.loc[sizes["lang"] == "hi", "n"] == 5).all() and (sizes.loc[sizes["lang"] != "hi", "n"] == 8).all()
    assert {"dataset": "mlqa-r", "batch_type": "xx", "language": "hi", "batch_size": 5} in manifest["shrunk_batches"]
    assert manifest["rows"] == len(rows)


def test_sentence_plus_context_passage(tmp_path):
    rows, _, _ = build(tmp_path, run="xy", passage="sentence+context", num_batches=5)
    assert (rows["positive"] == rows["p_lang"] + " sentence " + rows["xling_id"] + " "
            + rows["p_lang"] + " context " + rows["xling_id"]).all()


def test_batches_never_split_across_shards_and_manifest_checksums(tmp_path):
    rows, manifest, out = build(tmp_path, num_batches=10, batches_per_shard=3)
    assert [s["file"] for s in manifest["shards"]] == [f"shard-{i:05d}.parquet" for i in range(4)]
    assert [s["batches"] for s in manifest["shards"]] == [3, 3, 3, 1]
    for s in manifest["shards"]:
        table = pq.read_table(out / s["file"])
        assert table.schema.equals(SHARD_SCHEMA)
        batches = table["batch"].to_numpy()
        assert batches.min() == s["first_batch"] and batches.max() == s["first_batch"] + s["batches"] - 1
        assert np.all(np.diff(batches) >= 0) and sha256_file(out / s["file"]) == s["sha256"]
    assert sorted(rows["batch"].unique()) == list(range(10))


def test_validation_shards_use_held_out_ids(tmp_path):
    _, _, out = build(tmp_path, run="hybrid", valid={k: 9 for k in SEVEN}, valid_batches=5)
    valid = json.loads((out / "valid" / "manifest.json").read_text())
    rows = pd.concat([pd.read_parquet(out / "valid" / s["file"]) for s in valid["shards"]])
    assert valid["split"] == "valid" and valid["batches"] == 5 and rows["xling_id"].str.startswith("mv").all()
    assert_rows_match_data(rows)


def test_one_pass_when_num_batches_is_null(tmp_path):
    _, manifest, _ = build(tmp_path, run="xx", num_batches=None)
    assert manifest["batches"] == math.ceil(sum(SEVEN.values()) / 8)


def test_rebuild_is_byte_identical_and_independent_of_row_order(tmp_path):
    _, first, out_a = build(tmp_path, num_batches=20, batches_per_shard=7, out="a")
    _, _, out_b = build(tmp_path, num_batches=20, batches_per_shard=7, out="b")
    # same data, rows shuffled: same shards
    path = tmp_path / "split" / "mlqa-r" / "train.parquet"
    table = pq.read_table(path)
    pq.write_table(table.take(np.random.default_rng(1).permutation(table.num_rows)), path)
    _, _, out_c = build(tmp_path, num_batches=20, batches_per_shard=7, out="c")
    for s in first["shards"]:
        a = (out_a / s["file"]).read_bytes()
        assert a == (out_b / s["file"]).read_bytes() == (out_c / s["file"]).read_bytes()
    # another seed (the run's --seed) draws other batches
    _, _, out_e = build(tmp_path, num_batches=20, batches_per_shard=7, out="e", seed=14)
    assert (out_e / "shard-00000.parquet").read_bytes() != (out_a / "shard-00000.parquet").read_bytes()


def test_several_datasets_sampled_by_size(tmp_path):
    big, small = {"en": 60, "de": 60, "es": 60}, {"en": 20, "de": 20, "es": 20}
    valid = {"en": 6, "de": 6}
    rows, manifest, _ = build(tmp_path, datasets={"mlqa-r": (big, valid), "xquad-r": (small, valid)},
                              num_batches=800, batch_size=4, batches_per_shard=200)
    per_batch = rows.groupby("batch")["dataset"].agg(["nunique", "first"])
    assert (per_batch["nunique"] == 1).all()  # a batch comes from one data set
    share = (per_batch["first"] == "mlqa-r").mean()
    assert abs(share - 0.75) < 4 * math.sqrt(0.75 * 0.25 / 800), share
    assert manifest["batches_per_dataset"]["mlqa-r"] == (per_batch["first"] == "mlqa-r").sum()
    # ids are per data set (prefix m / x) and texts come from the right set
    assert (rows["xling_id"].str[0] == rows["dataset"].str[0]).all()
    assert_rows_match_data(rows)


def test_reads_a_folder_of_parquet_files_and_skips_other_languages(tmp_path):
    folder = tmp_path / "split" / "mlqa-r"
    folder.mkdir(parents=True)
    table = split_table({"en": 20, "de": 20, "fr": 20}, prefix="m")
    (folder / "train.parquet").mkdir()
    pq.write_table(table.slice(0, 25), folder / "train.parquet" / "part-0.parquet")
    pq.write_table(table.slice(25), folder / "train.parquet" / "part-1.parquet")
    pq.write_table(split_table({"en": 5, "de": 5}, prefix="mv"), folder / "valid.parquet")
    params = write_params(tmp_path / "params.yaml", {"batch_size": 4, "num_batches": 10, "languages": ["de", "en"]})
    assert cli(["shards", "--run", "xy", "--seed", "13", "--split-dir", str(tmp_path / "split"), "--out", str(tmp_path / "o"),
                "--params", str(params)]) == 0
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["inputs"]["mlqa-r"]["skipped_rows_per_language"] == {"fr": 20}
    assert manifest["inputs"]["mlqa-r"]["rows"] == 40
