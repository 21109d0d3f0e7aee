"""The Snakemake front door on the data rules: real run, no-op rerun, targeted rerun."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _snakemake(workdir: Path, *args: str, mirror: Path) -> str:
    env = {**os.environ, "MIXBATCH_MIRROR": str(mirror),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([Path(sys.executable).parent / "snakemake", "--cores", "2", *args],
                          cwd=workdir, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def _planned_jobs(output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run: rule -> count."""
    lines = output.splitlines()
    if not any(l.startswith("Job stats") for l in lines):
        return {}
    start = next(i for i, l in enumerate(lines) if l.startswith("Job stats")) + 3
    jobs = {}
    for line in lines[start:]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        jobs[parts[0]] = int(parts[1])
    return jobs


@pytest.mark.realdata
def test_data_rules_run_then_noop_then_rerun_only_dependents(shared_data, tmp_path):
    for name in ("Snakefile", "params.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "workflow", tmp_path / "workflow")
    targets = ["data/split/mlqa-r", "data/aligned/xquad-r"]

    _snakemake(tmp_path, *targets, mirror=shared_data)
    assert (tmp_path / "data/split/mlqa-r/train.parquet").exists()
    assert _planned_jobs(_snakemake(tmp_path, "-n", *targets, mirror=shared_data)) == {}

    shutil.rmtree(tmp_path / "data/split/mlqa-r")
    assert _planned_jobs(_snakemake(tmp_path, "-n", *targets, mirror=shared_data)) == {"split": 1}

    shutil.rmtree(tmp_path / "data/aligned/mlqa-r")
    assert _planned_jobs(_snakemake(tmp_path, "-n", *targets, mirror=shared_data)) == {"align": 1, "split": 1}
