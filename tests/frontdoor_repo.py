"""A temporary copy of the repository, built by both front doors with a fake `mixbatch`.

The copy has its own src/ (on PYTHONPATH, so the stage table and the code digests are
the copy's), a small grid, a git + DVC repository, and a `mixbatch` first on PATH that
writes each output as a small file holding its command: Snakemake runs every job in
seconds, DVC records them, and a test can then edit the copy's params or code and ask
both front doors what they would rerun.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GRID = {"runs": {"xx": {"sampling": "xx"}, "hybrid": {"sampling": "hybrid", "alpha": 0.5}}, "seeds": [1],
        "zeroshot": True, "datasets": ["xquad-r", "tatoeba", "miracl"]}
OUTPUT_FLAGS = {"--out", "--metrics", "--plots", "--details", "--heldout", "--log", "--headline", "--assets"}
FAKE_MIXBATCH = f"""#!{sys.executable}
# A stand-in for `mixbatch <stage>`: every output path becomes a file holding the command.
import pathlib, sys
args = [a for a in sys.argv[1:]]
for flag, value in zip(args, args[1:]):
    if flag in {sorted(OUTPUT_FLAGS)!r}:
        path = pathlib.Path(value)
        if path.suffix in (".json", ".csv", ".md"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(" ".join(args) + "\\n")
        else:
            path.mkdir(parents=True, exist_ok=True)
            (path / "out.txt").write_text(" ".join(args) + "\\n")
"""


class Repo:
    def __init__(self, root: Path):
        self.root = root
        self.env = {**os.environ, "PYTHONPATH": str(root / "src"),
                    "PATH": f"{root / 'fakebin'}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}"}

    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(list(cmd), cwd=self.root, env=self.env, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc

    def snakemake(self, *args: str) -> subprocess.CompletedProcess:
        return self.run(str(BIN / "snakemake"), "--cores", "2", *args)

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(str(BIN / "dvc"), *args, check=check)

    def mixbatch(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(sys.executable, "-m", "mixbatch.cli", *args, check=check)

    @property
    def params(self) -> dict:
        return yaml.safe_load((self.root / "params.yaml").read_text())

    def write_params(self, params: dict) -> None:
        (self.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def snakemake_plan(self) -> dict[str, str]:
        """{job name: reason} of every job `snakemake -n all` would run."""
        out = self.snakemake("-n", "all").stdout
        blocks, current = [], None
        for line in out.splitlines():
            if m := re.match(r"(?:local)?rule (\S+):$", line):
                current = {"rule": m.group(1).replace("_", "-"), "wildcards": {}, "reason": ""}
                blocks.append(current)
            elif current and (m := re.match(r"    wildcards: (.*)$", line)):
                current["wildcards"] = dict(kv.split("=", 1) for kv in m.group(1).split(", "))
            elif current and (m := re.match(r"    reason: (.*)$", line)):
                current["reason"] = m.group(1)
        jobs = {}
        for b in blocks:
            if b["rule"] != "all":
                key = [b["wildcards"][k] for k in ("run", "dataset") if k in b["wildcards"]]
                jobs["/".join([b["rule"], *key])] = b["reason"]
        return jobs

    def dvc_changed(self) -> set[str]:
        """Stages `dvc status` reports as changed."""
        out = self.dvc("status", "--json").stdout
        return set(json.loads(out or "{}"))

    def both_clean(self) -> bool:
        return not self.snakemake_plan() and not self.dvc_changed()


def build(root: Path) -> Repo:
    """Copy the repository's pipeline into root, build it with the fake mixbatch, record
    it in DVC and mark it current for Snakemake (what `make run` does)."""
    for name in ("Snakefile", ".dvcignore"):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "workflow", root / "workflow")
    shutil.copytree(ROOT / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (root / "fakebin").mkdir()
    fake = root / "fakebin" / "mixbatch"
    fake.write_text(FAKE_MIXBATCH)
    fake.chmod(0o755)
    repo = Repo(root)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["grid"] = GRID
    repo.write_params(params)
    repo.run("git", "init", "-q")
    repo.dvc("init", "-q")
    repo.dvc("config", "cache.type", "hardlink,copy")
    repo.mixbatch("pipeline")
    repo.snakemake("all")
    assert "Nothing to be done" in repo.snakemake("-n", "all").stdout
    repo.dvc("commit", "--force", "--quiet")
    repo.snakemake("--touch", "all")
    return repo
