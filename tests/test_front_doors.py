"""One table of stages: Snakemake and DVC run the same commands on the same inputs and
outputs, with the params of mixbatch.pipeline.STAGE_PARAMS; both dry-run on the default
params. Fails when a rule file, dvc.yaml or the stage table drifts from the others."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mixbatch.pipeline import STAGE_PARAMS

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _covers(container: str, path: str) -> bool:
    return path == container or path.startswith(container.rstrip("/") + "/")


@pytest.fixture(scope="module")
def snakemake_jobs() -> dict[str, dict]:
    """Every job of `snakemake -n -p --forceall all`: command -> {rule, input, output}."""
    proc = subprocess.run([BIN / "snakemake", "-n", "-p", "--forceall", "all"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jobs, current = {}, {}
    for line in proc.stdout.splitlines():
        if m := re.match(r"(?:local)?rule (\S+):$", line):
            current = {"rule": m.group(1), "input": [], "output": []}
        elif m := re.match(r"    (input|output): (.*)$", line):
            current[m.group(1)] = m.group(2).split(", ")
        elif line.startswith("Shell command: "):
            cmd = re.sub(r" 2> \S+$", "", line[len("Shell command: "):]).strip()
            if cmd != "None":  # rule all runs nothing
                jobs[cmd] = current
    return jobs


@pytest.fixture(scope="module")
def dvc_stages() -> dict[str, dict]:
    """Every stage of dvc.yaml: command -> {name, deps, params, outs}."""
    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo

    stages = {}
    with Repo(str(ROOT)) as repo:
        for stage in repo.index.stages:
            params = [p for d in stage.deps if isinstance(d, ParamsDependency) for p in d.params]
            deps = [d.def_path for d in stage.deps if not isinstance(d, ParamsDependency)]
            stages[" ".join(stage.cmd.split())] = {
                "name": stage.addressing, "params": params, "deps": deps, "outs": [o.def_path for o in stage.outs]}
    return stages


def test_same_commands(snakemake_jobs, dvc_stages):
    assert set(snakemake_jobs) == set(dvc_stages)
    assert len(dvc_stages) == 4 + 4 + 1 + 4 + 1 + 4 + 3 * 8 + 1  # default grid: 4 runs x 2 data sets


def test_same_outputs_and_inputs(snakemake_jobs, dvc_stages):
    for cmd, stage in dvc_stages.items():
        job = snakemake_jobs[cmd]
        assert set(stage["outs"]) == set(job["output"]), stage["name"]
        data_deps = [d for d in stage["deps"] if not d.startswith("src/")]
        # a DVC folder dependency may hold several Snakemake inputs (e.g. results/metrics)
        assert all(any(_covers(d, i) for d in data_deps) for i in job["input"]), stage["name"]
        assert all(any(_covers(d, i) for i in job["input"]) for d in data_deps), stage["name"]


def test_params_and_own_code(dvc_stages):
    for cmd, stage in dvc_stages.items():
        subcommand = cmd.split()[1]
        run = stage["name"].split("@")[1].split("-")[0] if "@" in stage["name"] else None
        expected = [k.format(run=run) for k in STAGE_PARAMS[subcommand]]
        assert stage["params"] == expected, stage["name"]
        own_module = f"src/mixbatch/stages/{subcommand.replace('-', '_')}.py"
        assert own_module in stage["deps"], stage["name"]


def test_snakemake_lint_is_clean_but_for_conda():
    proc = subprocess.run([BIN / "snakemake", "--lint"], cwd=ROOT, capture_output=True, text=True)
    findings = [l for l in proc.stdout.splitlines() if re.match(r"\s{4}\* ", l)]
    # The rules run in this project's virtual environment, not per-rule conda environments.
    assert all("conda" in l.lower() or "container" in l.lower() for l in findings), proc.stdout


def test_evaluation_params_retrain_nothing():
    """Changing an evaluation param (encode, index, score, report) reruns no training-side stage."""
    evaluation = ("encode", "index", "score", "sweep")
    for stage in ("download", "align", "split", "shards", "prepare-model", "train"):
        assert not [k for k in STAGE_PARAMS[stage] if k.split(".")[0] in evaluation], stage


def test_dvc_dry_run_plans_every_stage(dvc_stages, tmp_path):
    proc = subprocess.run([BIN / "dvc", "repro", "--dry", "--force"], cwd=ROOT, capture_output=True, text=True,
                          env={**__import__("os").environ, "PATH": f"{BIN}:{__import__('os').environ['PATH']}"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    planned = set(re.findall(r"Running stage '([^']+)'", proc.stdout))
    assert planned == {s["name"] for s in dvc_stages.values()}
