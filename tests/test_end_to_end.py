"""The whole pipeline on a small configuration (STYLE.md's whole-config test), for real:
the mirrored data, a tiny random BERT as `model.name`, two trained runs and the zero-shot
run, a few training steps. Run twice in two copies of the repository: the outputs are
byte-identical. The first copy then goes through `make run`'s recording steps (DVC commit,
Snakemake touch) and both front doors must call it current; `dvc exp show` and `dvc plots
show` read its headline and plots. Slow (a few minutes): `pytest -m slow`.
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
pytestmark = [pytest.mark.slow, pytest.mark.realdata]
# Outputs whose bytes may differ between two runs: the training log has throughput.
TIMINGS = re.compile(r"results/train/[^/]+/log\.csv$")
# The README's 160-column view of `dvc exp show` (kept in step with it by a test below).
HEADLINE_VIEW = r"Experiment|Created|mul_map\.|mo_map\.|cr_map\."


def small_params(tiny_model: Path) -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["grid"] = {"runs": {"xx": {"sampling": "xx"}, "hybrid": {"sampling": "hybrid", "alpha": 0.5}},
                      "seeds": [1], "zeroshot": True, "datasets": ["xquad-r", "tatoeba"]}
    params["model"]["name"] = str(tiny_model)
    params["shards"].update(batch_size=8, num_batches=4)
    params["train"].update(max_steps=4, eval_every=2, checkpoint_every=2, threads=1)
    params["report"]["bootstrap_resamples"] = 200
    return params


def make_copy(root: Path, params: dict, shared_data: Path) -> Path:
    for name in ("Snakefile", ".dvcignore"):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "workflow", root / "workflow")
    # dvc.yaml lists the code files as dependencies: DVC hashes the copy's (the same bytes)
    shutil.copytree(ROOT / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    params["data"]["mirrors"] = [str(shared_data)]
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root


def run(root: Path, *cmd: str) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(list(cmd), cwd=root, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


def outputs(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for top in ("data", "results") for p in (root / top).rglob("*")
                  if p.is_file() and "data/cache" not in str(p))


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, tiny_model_dir, shared_data):
    copies = []
    for name in ("a", "b"):
        root = make_copy(tmp_path_factory.mktemp(name), small_params(tiny_model_dir), shared_data)
        run(root, str(BIN / "mixbatch"), "pipeline")
        run(root, str(BIN / "snakemake"), "--cores", "2", "all")
        copies.append(root)
    return copies


def test_two_clean_runs_give_byte_identical_outputs(two_runs):
    a, b = two_runs
    files = outputs(a)
    assert files == outputs(b)
    for expected in ("data/models/hybrid-s1/model.safetensors", "results/embeddings/xx-s1/xquad-r/candidates.npy",
                     "results/details/zeroshot/xquad-r/questions.parquet", "results/headline.json",
                     "data/export/hybrid-s1/README.md", "results/report.md", "data/aligned/mlqa-r-valid/qrels.parquet"):
        assert expected in files, expected
    differ = [f for f in files if not filecmp.cmp(a / f, b / f, shallow=False)]
    assert [f for f in differ if not TIMINGS.search(f)] == []


def test_the_trained_models_load_in_sentence_transformers_and_say_what_they_are(two_runs):
    from sentence_transformers import SentenceTransformer

    a, _ = two_runs
    model = SentenceTransformer(str(a / "data" / "export" / "hybrid-s1"), device="cpu")
    assert model.encode(["Where is the port?"], prompt_name="query").shape == (1, 32)
    card = (a / "data" / "export" / "hybrid-s1" / "README.md").read_text()
    assert "Hybrid (alpha = 0.5)" in card and "XQuAD-R" in card and "mean of 1 seeds" in card


def test_after_recording_both_front_doors_call_it_current(two_runs):
    a, _ = two_runs
    run(a, "git", "init", "-q")
    run(a, str(BIN / "dvc"), "init", "-q")
    shutil.copy(ROOT / ".dvc" / "config", a / ".dvc" / "config")  # the repository's cache type
    assert "Nothing to be done" in run(a, str(BIN / "snakemake"), "--cores", "2", "-n", "all")
    run(a, str(BIN / "dvc"), "commit", "--force")
    run(a, str(BIN / "dvc"), "checkout", "--relink")  # as make run: exports share the models' files
    run(a, str(BIN / "snakemake"), "--cores", "2", "--touch", "all")
    assert json.loads(run(a, str(BIN / "dvc"), "status", "--json") or "{}") == {}
    assert "Nothing to be done" in run(a, str(BIN / "snakemake"), "--cores", "2", "-n", "all")
    # the cache holds the models' bytes once: the workspace files (the model and its
    # exported copy) are links to it
    model = a / "data" / "models" / "hybrid-s1" / "model.safetensors"
    exported = a / "data" / "export" / "hybrid-s1" / "model.safetensors"
    assert model.stat().st_nlink >= 3 and model.stat().st_ino == exported.stat().st_ino


def test_dvc_exp_show_renders_every_runs_mul_map(two_runs):
    """`dvc exp show` pages at full width: the headline's metric-first keys make every
    run's Mul. mAP its first columns. With --no-pager at 160 columns DVC cannot fit ~250
    columns (every params key, the data deps, the metrics): the README's `--keep` view
    renders the headline there."""
    a, _ = two_runs
    if not (a / ".dvc").exists():
        pytest.skip("needs the recorded copy (test order)")
    run(a, "git", "add", "-A")
    run(a, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "results")
    env = {**os.environ, "COLUMNS": "160", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    for flags in ([], ["--no-pager", "--drop", ".*", "--keep", HEADLINE_VIEW]):
        lines = subprocess.run([BIN / "dvc", "exp", "show", *flags], cwd=a, env=env, capture_output=True,
                               text=True).stdout.splitlines()
        at = next(i for i, line in enumerate(lines) if "Experiment" in line)
        if flags:
            assert max(len(line) for line in lines) <= 160
        first = lines[at].split()[2:5]  # after Experiment, Created
        assert first == [f"mul_map.{r}" for r in ("zeroshot", "xx", "hybrid")], lines[at]
        assert "…" not in lines[at + 2].split()[2:5]  # the workspace row, under the rule


def test_dvc_plots_show_draws_the_loss_curves_and_language_bars(two_runs):
    a, _ = two_runs
    if not (a / ".dvc").exists():
        pytest.skip("needs the recorded copy (test order)")
    out = json.loads(run(a, str(BIN / "dvc"), "plots", "show", "--json"))["data"]
    names = set(out)
    assert "loss" in names and "xquad-r-mul-map-by-language" in names, names
    drawn = {row["filename::field"].split("/")[0] for row in out["loss"][0]["content"]["data"]["values"]}
    assert drawn >= {"xx-s1", "hybrid-s1"}, drawn
    bars = out["xquad-r-mul-map-by-language"][0]["content"]["data"]["values"]
    assert {row["lang"] for row in bars} >= {"ar", "de", "th"} and all(float(row["mul_map"]) >= 0 for row in bars)


def test_readme_gives_the_headline_view():
    assert f"--keep '{HEADLINE_VIEW}'" in (ROOT / "README.md").read_text()
