"""`mixbatch shards` params, CLI and errors: bad params and bad input name what is possible."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from shards_fixture import split_table, write_params, write_split

from mixbatch.cli import main as cli
from mixbatch.config import load_params
from mixbatch.errors import MixbatchError

REPO = Path(__file__).resolve().parents[1]
LANGS = {"en": 12, "de": 10, "es": 9}


@pytest.fixture
def split_dir(tmp_path) -> Path:
    write_split(tmp_path / "split", "mlqa-r", LANGS, {"en": 4, "de": 4, "es": 3}, prefix="m")
    return tmp_path / "split"


def shards(tmp_path: Path, split_dir: Path, run: str = "hybrid", shards: dict | None = None,
           runs: dict | None = None, capsys=None) -> tuple[int, str]:
    """Run the CLI; return (exit code, stderr)."""
    params = write_params(tmp_path / "params.yaml", {"batch_size": 4, "num_batches": 6,
                                                     "languages": ["de", "en", "es"], **(shards or {})}, runs)
    code = cli(["shards", "--run", run, "--seed", "13", "--split-dir", str(split_dir), "--out", str(tmp_path / "out"),
                "--params", str(params)])
    return code, capsys.readouterr().err if capsys else ""


def test_repo_params_validate_with_the_default_runs():
    params = load_params(REPO / "params.yaml")
    assert {name: run["sampling"] for name, run in params["grid"]["runs"].items()} == {
        "xx": "xx", "xy": "xy", "hybrid": "hybrid", "random": "random", "mixed": "mixed"}
    assert params["grid"]["runs"]["hybrid"]["alpha"] == 0.5
    assert params["shards"]["languages"] == ["ar", "de", "en", "es", "hi", "vi", "zh"]


def test_schema_defaults_fill_an_empty_shards_section(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("seed: 3\n")
    params = load_params(path)
    assert params["shards"] == {"batch_size": 32, "num_batches": 75, "valid_batches": None,
                                "languages": ["ar", "de", "en", "es", "hi", "vi", "zh"],
                                "passage": "sentence", "batches_per_shard": 500}
    assert set(params["grid"]["runs"]) == {"xx", "xy", "hybrid", "random", "mixed"}


@pytest.mark.parametrize("section, bad, message", [
    ("grid", {"runs": {"h": {"sampling": "hybrid", "alpha": 1.5}}}, "grid.runs.h.alpha: 1.5 is greater than the maximum of 1"),
    ("grid", {"runs": {"h": {"sampling": "hybrid", "alpha": -0.1}}}, "grid.runs.h.alpha: -0.1 is less than the minimum of 0"),
    ("grid", {"runs": {"h": {"sampling": "shuffled"}}}, "grid.runs.h.sampling: 'shuffled' is not allowed"),
    ("grid", {"runs": {"h": {"alpha": 0.5}}}, "'sampling' is a required property"),
    ("grid", {"runs": {"h": {"sampling": "xx", "alhpa": 0.5}}}, "did you mean 'alpha'?"),
    ("grid", {"runs": {"a/b": {"sampling": "xx"}}}, "does not match"),
    ("grid", {"runs": {"x-y": {"sampling": "xx"}}}, "does not match"),
    ("shards", {"batch_size": 1}, "shards.batch_size: 1 is less than the minimum of 2"),
    ("shards", {"languages": ["en", "xx"]}, "shards.languages[1]: 'xx' is not allowed"),
    ("shards", {"passage": "context"}, "allowed: sentence, sentence+context"),
    ("shards", {"batchsize": 8}, "did you mean 'batch_size'?"),
    ("shards", {"num_batches": 0}, "shards.num_batches: 0 is less than the minimum of 1"),
])
def test_schema_rejects_bad_params(tmp_path, section, bad, message):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({section: bad}))
    with pytest.raises(MixbatchError, match="invalid params") as err:
        load_params(path)
    assert message in str(err.value)


def test_cli_builds_train_and_valid_shards(tmp_path, split_dir, capsys):
    code, _ = shards(tmp_path, split_dir, capsys=capsys)
    assert code == 0
    assert (tmp_path / "out" / "shard-00000.parquet").exists() and (tmp_path / "out" / "manifest.json").exists()
    assert (tmp_path / "out" / "valid" / "shard-00000.parquet").exists()
    assert not list(tmp_path.glob(".*"))  # no temporary folders or text stores left behind


def expect_error(tmp_path, split_dir, capsys, *needles, **kwargs) -> None:
    code, err = shards(tmp_path, split_dir, capsys=capsys, **kwargs)
    assert code == 2, err
    for needle in needles:
        assert needle in err, err
    assert not (tmp_path / "out").exists()


def test_alpha_outside_unit_interval_is_an_error(tmp_path, split_dir, capsys):
    expect_error(tmp_path, split_dir, capsys, "runs.h.alpha: 1.2 is greater than the maximum of 1",
                 run="h", runs={"h": {"sampling": "hybrid", "alpha": 1.2}})


def test_batch_size_larger_than_any_language_can_fill(tmp_path, split_dir, capsys):
    expect_error(tmp_path, split_dir, capsys, "shards.batch_size = 13 is larger than any language can fill",
                 "at most 12 ids (en in mlqa-r)", "de 10", run="xx", shards={"batch_size": 13})


def test_batch_size_larger_than_xy_can_fill(tmp_path, split_dir, capsys):
    # en has 12 ids but only 10 exist in a second language
    expect_error(tmp_path, split_dir, capsys, "larger than an X-Y batch can fill", "at most 10 ids",
                 run="xy", shards={"batch_size": 11})


def test_xy_with_one_language_is_an_error(tmp_path, split_dir, capsys):
    expect_error(tmp_path, split_dir, capsys, "X-Y batches need at least two languages",
                 "shards.languages has one (en)", run="xy", shards={"languages": ["en"]})


def test_hybrid_with_one_language_is_an_error_but_xx_is_fine(tmp_path, split_dir, capsys):
    expect_error(tmp_path, split_dir, capsys, "X-Y batches need at least two languages", run="hybrid",
                 shards={"languages": ["en"]})
    assert shards(tmp_path, split_dir, run="xx", shards={"languages": ["en"]}, capsys=capsys)[0] == 0


def test_xy_when_no_id_has_two_of_the_languages(tmp_path, capsys):
    # en and de exist, but as different ids (prefixes differ): nothing to pair
    folder = tmp_path / "split" / "mlqa-r"
    folder.mkdir(parents=True)
    table = pa.concat_tables([split_table({"en": 5}, "a"), split_table({"de": 5}, "b")])
    pq.write_table(table, folder / "train.parquet")
    pq.write_table(table, folder / "valid.parquet")
    expect_error(tmp_path, tmp_path / "split", capsys, "X-Y batches need ids in two or more languages",
                 run="xy", shards={"languages": ["de", "en"]})


NEW_RUNS = {"random": {"sampling": "random"}, "mixed": {"sampling": "mixed"}}


@pytest.mark.parametrize("run, label", [("random", "a random"), ("mixed", "a mixed")])
def test_batch_size_larger_than_random_or_mixed_can_fill(tmp_path, split_dir, capsys, run, label):
    # 12 ids exist in at least one language (all of en's): 12 fits, 13 does not
    assert shards(tmp_path, split_dir, run=run, runs=NEW_RUNS, shards={"batch_size": 12}, capsys=capsys)[0] == 0
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["sampling"] == run and m["batch_types"] == {run: 6} and m["spec"]["batch_type_probs"] == {run: 1.0}
    (tmp_path / "out").rename(tmp_path / "first")
    expect_error(tmp_path, split_dir, capsys, f"shards.batch_size = 13 is larger than {label} batch can fill",
                 "at most 12 ids exist in one or more of shards.languages", run=run, runs=NEW_RUNS,
                 shards={"batch_size": 13})


@pytest.mark.parametrize("run", ["random", "mixed"])
def test_random_and_mixed_need_no_two_language_ids(tmp_path, capsys, run):
    # en and de exist as different ids: no X-Y pair, but random and mixed pairs have q == p
    folder = tmp_path / "split" / "mlqa-r"
    folder.mkdir(parents=True)
    table = pa.concat_tables([split_table({"en": 5}, "a"), split_table({"de": 5}, "b")])
    pq.write_table(table, folder / "train.parquet")
    pq.write_table(table, folder / "valid.parquet")
    assert shards(tmp_path, tmp_path / "split", run=run, runs=NEW_RUNS, shards={"languages": ["de", "en"]},
                  capsys=capsys)[0] == 0
    rows = pq.read_table(tmp_path / "out" / "shard-00000.parquet").to_pandas()
    assert (rows["q_lang"] == rows["p_lang"]).all() and set(rows["q_lang"]) == {"de", "en"}


@pytest.mark.parametrize("run", ["random", "mixed"])
def test_random_and_mixed_with_one_language(tmp_path, split_dir, capsys, run):
    assert shards(tmp_path, split_dir, run=run, runs=NEW_RUNS, shards={"languages": ["es"]}, capsys=capsys)[0] == 0
    rows = pq.read_table(tmp_path / "out" / "shard-00000.parquet").to_pandas()
    assert set(rows["q_lang"]) == set(rows["p_lang"]) == {"es"}


@pytest.mark.parametrize("run, label", [("random", "random"), ("mixed", "mixed"), ("xx", "X-X")])
def test_a_dataset_without_rows_in_the_languages(tmp_path, split_dir, capsys, run, label):
    # xquad-r has only fr: de and en occur (in mlqa-r), but xquad-r could never give a batch
    write_split(split_dir, "xquad-r", {"fr": 6}, {"fr": 3}, prefix="x")
    params = write_params(tmp_path / "params.yaml", {"batch_size": 4, "num_batches": 6, "languages": ["de", "en"]},
                          NEW_RUNS | {"xx": {"sampling": "xx"}}, datasets=["mlqa-r", "xquad-r"])
    code = cli(["shards", "--run", run, "--seed", "13", "--split-dir", str(split_dir), "--out", str(tmp_path / "out"),
                "--params", str(params)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{label} batches need ids in at least one of shards.languages (de, en), but " in err, err
    assert "xquad-r/train.parquet has no rows in them; its other languages: fr" in err, err


def test_language_not_in_the_data(tmp_path, split_dir, capsys):
    expect_error(tmp_path, split_dir, capsys, "shards.languages: hi, zh not in the data", "the data has: de, en, es",
                 run="xx", shards={"languages": ["de", "en", "hi", "zh"]})


def test_an_alpha_sweep_is_hybrid_runs_in_the_grid(tmp_path, split_dir, capsys):
    params = write_params(tmp_path / "params.yaml", {"batch_size": 4, "num_batches": 40, "languages": ["de", "en", "es"]},
                          runs={"hybrid_a025": {"sampling": "hybrid", "alpha": 0.25}})
    assert cli(["shards", "--run", "hybrid_a025", "--seed", "13", "--split-dir", str(split_dir), "--out", str(tmp_path / "out"),
                "--params", str(params)]) == 0
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["sampling"] == "hybrid" and m["alpha"] == 0.25 and m["batch_types"]["xx"] < 20 and m["seed"] == 13


def test_unknown_run(tmp_path, split_dir, capsys):
    expect_error(tmp_path, split_dir, capsys, "--run 'hybird' is not in params grid.runs",
                 "xx, xy, hybrid, random, mixed",
                 run="hybird")


def test_missing_split_file(tmp_path, capsys):
    expect_error(tmp_path, tmp_path / "nowhere", capsys, "train.parquet: split file not found")


def test_missing_column(tmp_path, capsys):
    folder = tmp_path / "split" / "mlqa-r"
    folder.mkdir(parents=True)
    pq.write_table(split_table(LANGS).drop_columns(["sentence"]), folder / "train.parquet")
    expect_error(tmp_path, tmp_path / "split", capsys, "missing column(s) sentence")


def test_duplicate_id_language_row(tmp_path, capsys):
    folder = tmp_path / "split" / "mlqa-r"
    folder.mkdir(parents=True)
    table = split_table(LANGS, "m")
    pq.write_table(pa.concat_tables([table, table.slice(0, 1)]), folder / "train.parquet")
    expect_error(tmp_path, tmp_path / "split", capsys, "xling_id 'm008' has more than one row in language 'es'")


def test_failed_run_keeps_the_previous_output(tmp_path, split_dir, capsys):
    assert shards(tmp_path, split_dir, capsys=capsys)[0] == 0
    before = (tmp_path / "out" / "shard-00000.parquet").read_bytes()
    code, _ = shards(tmp_path, split_dir, shards={"batch_size": 40}, capsys=capsys)
    assert code == 2 and (tmp_path / "out" / "shard-00000.parquet").read_bytes() == before


@pytest.mark.parametrize("column, value", [("question", "   "), ("sentence", ""), ("question", None), ("xling_id", None)])
def test_blank_or_null_text_is_an_error_naming_the_row(tmp_path, capsys, column, value):
    """A whitespace-only question or passage would become a blank training pair."""
    folder = write_split(tmp_path / "split", "mlqa-r", LANGS, {"en": 4, "de": 4, "es": 3}, prefix="m")
    table = pq.read_table(folder / "train.parquet").to_pylist()
    table[5][column] = value
    pq.write_table(pa.Table.from_pylist(table, schema=pq.read_schema(folder / "train.parquet")), folder / "train.parquet")
    code, err = shards(tmp_path, tmp_path / "split", capsys=capsys)
    assert code == 2
    assert f"train.parquet: row 5: column {column!r} is empty or blank" in err
    assert not (tmp_path / "out").exists()
