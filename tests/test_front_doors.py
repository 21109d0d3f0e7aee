"""One stage table for both front doors, covering code, params and inputs.

- dvc.yaml is what the stage table generates for params.yaml, and Snakemake plans the
  same jobs with the same commands, inputs and outputs;
- in a temporary copy of the repository built by both front doors (with a fake
  `mixbatch`, tests/frontdoor_repo.py), an edit to a code module or a change to a params
  key makes `snakemake -n` and `dvc status` plan exactly the jobs whose table entry
  depends on it; settings that cannot change an output plan nothing; caches under src/
  are no change; a grid change adds only its own jobs.
Every params key is tried in the slow suite (`-m slow`); the fast suite tries a sample.
"""

from __future__ import annotations

import copy
import re
import subprocess
import pytest

from frontdoor_repo import BIN, ROOT, build
from mixbatch.config import load_params, load_schema
from mixbatch.pipeline import dvcfile
from mixbatch.pipeline.table import STAGES, jobs


@pytest.fixture(scope="module")
def snakemake_jobs() -> dict[str, dict]:
    """Every job of `snakemake -n -p --forceall all` on the repository: command -> {rule, input, output}."""
    proc = subprocess.run([BIN / "snakemake", "-n", "-p", "--forceall", "--cores", "4", "all"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found, current = {}, {}
    for line in proc.stdout.splitlines():
        if m := re.match(r"(?:local)?rule (\S+):$", line):
            current = {"rule": m.group(1), "input": [], "output": []}
        elif m := re.match(r"    (input|output): (.*)$", line):
            current[m.group(1)] = m.group(2).split(", ")
        elif line.startswith("Shell command: "):
            cmd = re.sub(r"( --threads \d+)? 2> \S+$", "", line[len("Shell command: "):]).strip()
            if cmd != "None":  # rule all runs nothing
                found[cmd] = current
    return found


def test_dvc_yaml_is_generated_from_the_table():
    params = load_params(ROOT / "params.yaml")
    assert (ROOT / "dvc.yaml").read_text() == dvcfile.render(params), "run `mixbatch pipeline`"


def test_snakemake_plans_the_table_jobs_with_the_same_commands_inputs_outputs(snakemake_jobs):
    table = {job.cmd: job for job in jobs(load_params(ROOT / "params.yaml"))}
    assert set(snakemake_jobs) == set(table)
    for cmd, job in table.items():
        planned = snakemake_jobs[cmd]
        assert set(planned["output"]) == {o.path for o in job.outs}, job.name
        assert set(planned["input"]) == set(job.deps), job.name


def test_default_grid_size():
    params = load_params(ROOT / "params.yaml")
    counts = {}
    for job in jobs(params):
        counts[job.stage] = counts.get(job.stage, 0) + 1
    trained, evaluated = 5 * 2, (1 + 5 * 2) * 1  # runs x seeds; (zeroshot + trained) x data sets
    assert counts == {"download": 2, "align": 2, "split": 1, "shards": trained, "prepare-model": 1,
                      "train": trained, "encode": evaluated, "index": evaluated, "score": evaluated,
                      "report": 1, "export": trained}


def test_code_dependencies_are_the_stage_modules_import_closure():
    train = STAGES["train"].code()
    assert "src/mixbatch/train/loop.py" in train and "src/mixbatch/model/loss.py" in train
    assert not any("/stages/score.py" in f or "/report/" in f for f in train)
    assert "src/mixbatch/batching/sampler.py" in STAGES["shards"].code()
    assert not any("batching" in f for f in STAGES["train"].code() + STAGES["encode"].code())
    assert "src/mixbatch/data/manifest.yaml" in STAGES["download"].code()
    assert all(f.endswith((".py", ".yaml")) and "__pycache__" not in f for s in STAGES.values() for f in s.code())


def test_snakemake_lint_is_clean_but_for_conda():
    proc = subprocess.run([BIN / "snakemake", "--lint"], cwd=ROOT, capture_output=True, text=True)
    findings = [l for l in proc.stdout.splitlines() if re.match(r"\s{4}\* ", l)]
    # The rules run in this project's virtual environment, not per-rule conda environments.
    assert all("conda" in l.lower() or "container" in l.lower() for l in findings), proc.stdout


# --- a built copy of the repository ----------------------------------------------------

@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return build(tmp_path_factory.mktemp("frontdoors"))


def _depends(param: str, key: str) -> bool:
    return param == key or key.startswith(param + ".") or param.startswith(key + ".")


def expected_jobs(params: dict, key: str) -> set[str]:
    return {job.name for job in jobs(params) if any(_depends(p, key) for p in job.params)}


def directly_planned(plan: dict[str, str]) -> set[str]:
    """Jobs Snakemake reruns because of their own params or code (not an upstream rerun)."""
    return {job for job, reason in plan.items() if "have changed" in reason or "has changed" in reason}


def with_downstream(params: dict, names: set[str]) -> set[str]:
    """The jobs and every job that reads, directly or not, what they write."""
    all_jobs = jobs(params)
    out, grew = set(names), True
    while grew:
        written = [o.path for j in all_jobs if j.name in out for o in j.outs]
        more = {j.name for j in all_jobs if any(d == w or d.startswith(w + "/") for d in j.deps for w in written)}
        grew, out = bool(more - out), out | more
    return out


def assert_plans(repo, expected: set[str], new: set[str] = frozenset()) -> None:
    """DVC reports exactly the jobs that depend on the change (and the new ones); Snakemake
    plans those and everything downstream, and reruns none for a reason of its own
    outside them."""
    plan = repo.snakemake_plan()
    assert set(plan) == with_downstream(repo.params, expected | new)
    assert directly_planned(plan) <= expected and expected - new <= set(plan)
    assert repo.dvc_changed() == expected | new


def test_built_copy_is_clean_in_both_front_doors(repo):
    assert repo.both_clean()
    assert repo.mixbatch("pipeline", "--check").returncode == 0


CODE_SAMPLE = ["src/mixbatch/batching/sampler.py", "src/mixbatch/model/loss.py", "src/mixbatch/metrics/lareqa.py",
               "src/mixbatch/report/stats.py"]
MORE_CODE = ["src/mixbatch/data/lareqa.py", "src/mixbatch/retrieval/encode.py", "src/mixbatch/model/precision.py",
             "src/mixbatch/data/fetch.py", "src/mixbatch/stages/export.py"]


@pytest.mark.parametrize("module", CODE_SAMPLE + [pytest.param(m, marks=pytest.mark.slow) for m in MORE_CODE])
def test_a_code_edit_plans_exactly_the_stages_that_run_it(repo, module):
    expected = {j.name for j in jobs(repo.params) if module in STAGES[j.stage].code()}
    assert expected
    path = repo.root / module
    before = path.read_text()
    path.write_text(before + "\n# an edit\n")
    try:
        assert_plans(repo, expected)
    finally:
        path.write_text(before)
    assert repo.both_clean()


def test_python_and_numba_caches_are_no_change(repo):
    cache = repo.root / "src" / "mixbatch" / "metrics" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "kernels.cpython-311.pyc").write_bytes(b"\x00" * 64)
    (cache / "kernels._count-1.py311.nbi").write_bytes(b"\x01" * 64)
    assert repo.both_clean()


# A valid changed value for every params key (the grid's keys are tested on their own).
CHANGES = {
    "seed": 14,
    "data.mirrors": ["/elsewhere"], "data.http_timeout_s": 5, "data.http_retries": 0, "data.hub_timeout_s": 3,
    "split.datasets": ["mlqa-r", "xquad-r"], "split.valid_fraction": 0.2,
    "shards.batch_size": 16, "shards.num_batches": 10, "shards.valid_batches": 3, "shards.languages": ["ar", "de"],
    "shards.passage": "sentence+context", "shards.batches_per_shard": 7,
    "model.name": "some/other-model", "model.pooling": "cls", "model.query_prefix": "", "model.passage_prefix": "",
    "model.query_max_length": 32, "model.passage_max_length": 96,
    "train.precision": "fp32", "train.lr": 1e-4, "train.weight_decay": 0.0, "train.warmup_ratio": 0.2,
    "train.max_grad_norm": 2.0, "train.temperature": 0.1, "train.dropout": 0.1, "train.max_steps": 5,
    "train.freeze_word_embeddings": False, "train.eval_every": 10, "train.max_valid_batches": 2, "train.patience": 2,
    "train.checkpoint_every": 10, "train.grad_cache_chunk_size": 8, "train.length_bucket_size": 8,
    "train.devices": 2, "train.threads": 1,
    "encode.precision": "fp32", "encode.batch_size": 32, "encode.dtype": "float16", "encode.threads": 1,
    "encode.candidate_text": "sentence+context", "encode.tatoeba_languages": "xtreme-r",
    "encode.miracl_corpus": "x/y", "encode.miracl_max_passages": 10,
    "index.factory": "HNSW32", "index.hnsw_ef_search": 64, "index.ivf_nprobe": 8,
    "score.map_k": 10, "score.recall_ks": [1, 5], "score.mix_k": 5, "score.block_size": 64,
    "score.tatoeba_headline": "all", "score.miracl_languages": ["sw"], "score.miracl_depth": 200,
    "report.bootstrap_resamples": 500, "report.confidence": 0.9,
    "mmarco.languages": ["en", "de"], "mmarco.translation": "helsinki", "mmarco.max_queries": 100,
}
NOT_A_DEPENDENCY = {"data.mirrors", "data.http_timeout_s", "data.http_retries", "data.hub_timeout_s",
                    "train.threads", "train.checkpoint_every", "encode.threads", "score.block_size",
                    # read only by mMARCO's jobs, which this grid (MLQA-R alone) does not have
                    "mmarco.languages", "mmarco.translation", "mmarco.max_queries"}
FAST_SAMPLE = ["train.lr", "encode.tatoeba_languages", "score.map_k", "train.threads"]


def _schema_keys(schema: dict, prefix: str = "") -> list[str]:
    keys = []
    for name, sub in schema.get("properties", {}).items():
        if sub.get("type") == "object" and "properties" in sub:
            keys += _schema_keys(sub, f"{prefix}{name}.")
        elif not (prefix + name).startswith("grid."):
            keys.append(prefix + name)
    return keys


def test_every_params_key_has_a_change_to_try():
    assert sorted(_schema_keys(load_schema())) == sorted(CHANGES)


def _set(params: dict, key: str, value) -> dict:
    params = copy.deepcopy(params)
    section, _, name = key.rpartition(".")
    (params[section] if section else params)[name] = value
    return params


def check_key(repo, key: str) -> None:
    before = repo.params
    changed = _set(before, key, CHANGES[key])
    expected = expected_jobs(changed, key)
    assert (not expected) == (key in NOT_A_DEPENDENCY), key
    repo.write_params(changed)
    try:
        assert repo.mixbatch("pipeline", "--check", check=False).returncode == 0 or key == "split.datasets"
        if key == "split.datasets":  # a new training set adds its split and held-out stages: rewrite dvc.yaml
            repo.mixbatch("pipeline")
        new = {j.name for j in jobs(changed)} - {j.name for j in jobs(before)}
        assert_plans(repo, expected, new)
    finally:
        repo.write_params(before)
        repo.mixbatch("pipeline")
    assert repo.both_clean(), key


@pytest.mark.parametrize("key", FAST_SAMPLE)
def test_a_params_change_plans_exactly_the_stages_that_read_it(repo, key):
    check_key(repo, key)


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(set(CHANGES) - set(FAST_SAMPLE)))
def test_every_params_key_plans_exactly_the_stages_that_read_it(repo, key):
    check_key(repo, key)


def test_adding_an_evaluation_set_adds_its_stages_and_reruns_only_the_report(repo):
    before = repo.params
    changed = copy.deepcopy(before)
    changed["grid"]["datasets"].append("mlqa-r-valid")
    repo.write_params(changed)
    try:
        stale = repo.mixbatch("pipeline", "--check", check=False)
        assert stale.returncode == 2 and "run `mixbatch pipeline`" in stale.stderr
        repo.mixbatch("pipeline")
        new = {j.name for j in jobs(changed)} - {j.name for j in jobs(before)}
        assert new == {f"{s}/{r}/mlqa-r-valid" for s in ("encode", "index", "score") for r in ("zeroshot", "xx-s1", "hybrid-s1")}
        assert_plans(repo, {"report"}, new)  # the report reads the grid (and the new scores)
    finally:
        repo.write_params(before)
        repo.mixbatch("pipeline")
    assert repo.both_clean()


def test_another_seed_adds_only_that_seeds_runs(repo):
    before = repo.params
    changed = copy.deepcopy(before)
    changed["grid"]["seeds"].append(2)
    repo.write_params(changed)
    try:
        repo.mixbatch("pipeline")
        new = {j.name for j in jobs(changed)} - {j.name for j in jobs(before)}
        assert new and all("-s2" in name for name in new)
        assert_plans(repo, {"report"}, new)
    finally:
        repo.write_params(before)
        repo.mixbatch("pipeline")
    assert repo.both_clean()
