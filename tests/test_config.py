"""params.yaml validation: the CLI and Snakemake share one schema; errors name the key and what is allowed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mixbatch.config import load_params, validate_params
from mixbatch.errors import MixbatchError

ROOT = Path(__file__).resolve().parents[1]


def test_repo_params_are_valid_and_defaults_fill_in():
    params = load_params(ROOT / "params.yaml")
    assert params["grid"]["datasets"] == ["xquad-r"]
    filled = validate_params({})
    assert filled["seed"] == 13 and filled["split"] == {"datasets": ["mlqa-r"], "valid_fraction": 0.1}
    assert filled["data"]["mirrors"] == ["../shared/data"]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"dta": {}}, r"unknown key 'dta' \(did you mean 'data'\?\) at the top level; allowed keys: .*data"),
        ({"split": {"valid_fracton": 0.2}}, r"unknown key 'valid_fracton' \(did you mean 'valid_fraction'\?\) under 'split'"),
        ({"split": {"valid_fraction": "0.1"}}, r"split\.valid_fraction: '0\.1' is not of type 'number'"),
        ({"split": {"valid_fraction": 1.5}}, r"split\.valid_fraction: 1\.5 is greater than or equal to the maximum of 1"),
        ({"grid": {"datasets": ["xquad-r", "xquad"]}}, r"grid\.datasets: 'xquad' is not allowed \(did you mean 'xquad-r'\?\); allowed: xquad-r, mlqa-r-valid, tatoeba, miracl"),
        ({"split": {"datasets": ["tatoeba"]}}, r"split\.datasets: 'tatoeba' is not allowed; allowed: xquad-r, mlqa-r"),
        ({"grid": {"datasets": ["mlqa-r-valid"]}, "split": {"datasets": ["xquad-r"]}}, r"grid\.datasets: 'mlqa-r-valid' is mlqa-r's held-out split; add 'mlqa-r' to split\.datasets"),
        ({"seed": 1.5}, r"seed: 1\.5 is not of type 'integer'"),
        ({"shards": {"languages": ["en", "xx"]}}, r"shards\.languages\[1\]: 'xx' is not allowed; allowed: ar, bn, de"),
        ({"shards": {"languages": ["EN"]}}, r"shards\.languages\[0\]: 'EN' is not allowed \(did you mean 'en'\?\)"),
    ],
    ids=["misspelled-section", "misspelled-key", "wrong-type", "out-of-range", "unknown-dataset", "not-a-training-set",
         "heldout-without-its-split",
         "seed-type", "unknown-language", "language-case"],
)
def test_bad_params_name_key_and_allowed(params, message):
    with pytest.raises(MixbatchError, match=message):
        validate_params(params)


def test_cli_reports_bad_params_without_traceback(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump({"data": {"mirors": []}}))
    proc = subprocess.run(
        [sys.executable, "-m", "mixbatch.cli", "download", "--dataset", "xquad-r", "--out", str(tmp_path / "o"),
         "--params", str(bad)], capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert "unknown key 'mirors' (did you mean 'mirrors'?) under 'data'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_missing_and_non_mapping_params_files(tmp_path):
    with pytest.raises(MixbatchError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(MixbatchError, match="expected a mapping of sections"):
        load_params(tmp_path / "list.yaml")


def test_params_yaml_spells_out_every_schema_key():
    """DVC compares the values written in params.yaml: a key left to its schema default
    would be invisible to it, so the repository's params.yaml lists every key."""
    from mixbatch.config import load_schema

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())

    def missing(schema: dict, value: dict, where: str) -> list[str]:
        out = []
        for key, sub in schema.get("properties", {}).items():
            if key not in value:
                out.append(f"{where}{key}")
            elif sub.get("type") == "object" and "properties" in sub:
                out += missing(sub, value[key], f"{where}{key}.")
        return out

    assert missing(load_schema(), raw, "") == []


def test_params_yaml_is_the_schema_defaults_written_out():
    """One set of defaults: an empty params file and the repository's params.yaml run alike."""
    assert load_params(ROOT / "params.yaml") == validate_params({})
