"""`mixbatch train` end to end on the tiny model: outputs, determinism, resume after SIGKILL,
checkpoints valid only for their own training, best-checkpoint selection, bf16, a
multi-process smoke run, and bad input."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from safetensors.torch import load_file

from mixbatch.cli import main as cli
from train_shards_fixture import write_shards

TRAIN = {"lr": 1e-3, "warmup_ratio": 0.2, "eval_every": 2, "checkpoint_every": 2, "patience": 0,
         "threads": 1, "freeze_word_embeddings": False, "precision": "fp32"}
MODEL = {"query_max_length": 16, "passage_max_length": 24}


@pytest.fixture(autouse=True)
def _keep_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def params_file(folder: Path, **train) -> Path:
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump({"seed": 5, "model": MODEL, "train": {**TRAIN, **train}}))
    return path


def train_args(tmp: Path, model_dir: Path, shards: Path, params: Path, name: str = "run") -> list[str]:
    return ["train", "--params", str(params), "--seed", "5", "--base-model", str(model_dir), "--shards", str(shards),
            "--out", str(tmp / name / "model"), "--log", str(tmp / name / "log.csv"),
            "--metrics", str(tmp / name / "metrics.json"), "--checkpoints", str(tmp / name / "ckpt")]


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / "model.safetensors")


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    return write_shards(tmp_path_factory.mktemp("shards") / "run", n_batches=12, batch_size=4)


def test_train_writes_model_log_metrics_and_is_deterministic(tmp_path, tiny_model_dir, shards):
    params = params_file(tmp_path)
    assert cli(train_args(tmp_path, tiny_model_dir, shards, params, "a")) == 0
    assert cli(train_args(tmp_path, tiny_model_dir, shards, params, "b")) == 0
    assert_same_weights(tmp_path / "a" / "model", tmp_path / "b" / "model")
    rows = list(csv.DictReader(open(tmp_path / "a" / "log.csv")))
    assert [int(r["step"]) for r in rows] == [0, 2, 4, 6, 8, 10, 12]
    assert rows[0]["loss"] == "" and all(r["val_loss"] for r in rows)
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    vals = [float(r["val_loss"]) for r in rows]
    assert metrics["steps"] == 12 and metrics["best_step"] == int(rows[vals.index(min(vals))]["step"])
    assert metrics["best_val_loss"] == pytest.approx(min(vals), rel=1e-5)
    # the saved model is the best checkpoint, with its encoder settings
    saved = json.loads((tmp_path / "a" / "model" / "mixbatch_encoder.json").read_text())
    assert saved["query_max_length"] == 16
    assert metrics["precision"] == "fp32" and "fp32 requested" in metrics["precision_reason"]
    # a finished run leaves nothing that another run could resume from
    assert not (tmp_path / "a" / "ckpt").exists()


def test_training_changes_only_trainable_weights(tmp_path, tiny_model_dir, shards):
    params = params_file(tmp_path, freeze_word_embeddings=True, max_steps=4, eval_every=0)
    assert cli(train_args(tmp_path, tiny_model_dir, shards, params)) == 0
    before, after = weights(tiny_model_dir), weights(tmp_path / "run" / "model")
    word = "embeddings.word_embeddings.weight"
    assert torch.equal(before[word], after[word])
    assert not torch.equal(before["encoder.layer.0.attention.self.query.weight"],
                           after["encoder.layer.0.attention.self.query.weight"])


KILLABLE = """
import sys, time
import mixbatch.train.loop as loop
step = loop.Trainer.train_step
def slow_step(self, batch):
    time.sleep(0.4)  # give the test time to kill us mid-run
    return step(self, batch)
loop.Trainer.train_step = slow_step
from mixbatch.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_resume_after_sigkill_gives_the_uninterrupted_weights(tmp_path, tiny_model_dir, shards):
    """A resumed run is bit-identical to an uninterrupted one."""
    params = params_file(tmp_path)
    assert cli(train_args(tmp_path, tiny_model_dir, shards, params, "straight")) == 0

    args = train_args(tmp_path, tiny_model_dir, shards, params, "killed")
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE, *args], stderr=subprocess.DEVNULL)
    log = tmp_path / "killed" / "log.csv"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if log.exists() and any(r["step"] == "6" for r in csv.DictReader(open(log))):
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert not (tmp_path / "killed" / "model").exists()
    saved = torch.load(tmp_path / "killed" / "ckpt" / "latest.pt", weights_only=False)
    assert 4 <= saved["state"]["step"] < 12

    assert cli(args) == 0  # the same command resumes
    assert_same_weights(tmp_path / "straight" / "model", tmp_path / "killed" / "model")
    straight = list(csv.DictReader(open(tmp_path / "straight" / "log.csv")))
    resumed = list(csv.DictReader(open(log)))
    assert [(r["step"], r["loss"], r["val_loss"], r["lr"]) for r in straight] == \
        [(r["step"], r["loss"], r["val_loss"], r["lr"]) for r in resumed]


def _interrupted_checkpoint(tmp_path, model_dir, shards, params, env) -> Path:
    """Kill a run once it has written its step-4 checkpoint; return the checkpoint folder."""
    args = train_args(tmp_path, model_dir, shards, params, "first")
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE, *args], stderr=subprocess.DEVNULL, env=env)
    ckpt = tmp_path / "first" / "ckpt" / "latest.pt"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if ckpt.exists() and torch.load(ckpt, weights_only=False)["state"]["step"] >= 4:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return tmp_path / "first" / "ckpt"


@pytest.mark.parametrize("change", ["nothing", "params", "code", "base-model", "shards"])
def test_a_checkpoint_of_another_training_is_not_resumed(tmp_path, tiny_model_dir, shards, change):
    """Params, the training code, the base model's bytes and the shards' bytes are all in the
    fingerprint: after any of them changes, the run trains from step 0 (and without a
    change it resumes). The code is a copy of src/ that the test edits."""
    import shutil

    model_dir, shard_dir, src = tmp_path / "base", tmp_path / "shards", tmp_path / "src"
    shutil.copytree(tiny_model_dir, model_dir)
    shutil.copytree(shards, shard_dir)
    shutil.copytree(Path(__file__).resolve().parents[1] / "src", src, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(src)}
    params = params_file(tmp_path)
    ckpt = _interrupted_checkpoint(tmp_path, model_dir, shard_dir, params, env)
    assert (ckpt / "latest.pt").exists()
    if change == "params":
        params = params_file(tmp_path, lr=2e-3)
    elif change == "base-model":
        weights = load_file(model_dir / "model.safetensors")
        weights["encoder.layer.0.output.dense.bias"] += 0.01
        from safetensors.torch import save_file
        save_file(weights, model_dir / "model.safetensors", metadata={"format": "pt"})
    elif change == "shards":
        first = shard_dir / "shard-00000.parquet"
        pd.read_parquet(first).assign(query=lambda df: df["query"] + " !").to_parquet(first, index=False)
    elif change == "code":
        with open(src / "mixbatch" / "model" / "loss.py", "a") as f:
            f.write("\n# an edit\n")
    proc = subprocess.run([sys.executable, "-m", "mixbatch.cli", *train_args(tmp_path, model_dir, shard_dir, params, "first")],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert ("from another training" in proc.stderr) == (change != "nothing")
    assert ("resumed from step" in proc.stderr) == (change == "nothing")
    assert json.loads((tmp_path / "first" / "metrics.json").read_text())["steps"] == 12
    assert not ckpt.exists()


def test_bf16_step_lowers_the_loss_as_fp32_does(tmp_path, tiny_model_dir, shards):
    """bf16 compute (fp32 master weights): same trajectory up to rounding, loss goes down."""
    for precision in ("fp32", "bf16"):
        params = params_file(tmp_path, precision=precision, max_steps=8, eval_every=4, lr=3e-3)
        assert cli(train_args(tmp_path, tiny_model_dir, shards, params, precision)) == 0
    logs = {p: [float(r["val_loss"]) for r in csv.DictReader(open(tmp_path / p / "log.csv"))] for p in ("fp32", "bf16")}
    for p, vals in logs.items():
        assert vals[-1] < vals[0] - 0.05, (p, vals)
    assert logs["bf16"] == pytest.approx(logs["fp32"], abs=0.05)
    summary = json.loads((tmp_path / "bf16" / "metrics.json").read_text())
    assert summary["precision"] == "bf16"
    # the saved weights are the fp32 master weights
    assert all(t.dtype == torch.float32 for t in weights(tmp_path / "bf16" / "model").values())


def test_two_processes_train_end_to_end(tmp_path, tiny_model_dir, shards):
    params = params_file(tmp_path, devices=2, max_steps=4)
    assert cli(train_args(tmp_path, tiny_model_dir, shards, params)) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["steps"] == 4
    assert (tmp_path / "run" / "model" / "model.safetensors").exists()


def test_bad_inputs_are_clear_errors(tmp_path, tiny_model_dir, shards, capsys):
    params = params_file(tmp_path)
    assert cli(train_args(tmp_path, tiny_model_dir, tmp_path / "nowhere", params)) == 2
    assert "no shard-*.parquet" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    pd.DataFrame({"batch": [0], "query": ["q"]}).to_parquet(bad / "shard-00000.parquet")
    assert cli(train_args(tmp_path, tiny_model_dir, bad, params)) == 2
    assert "missing column(s) xling_id, positive" in capsys.readouterr().err
    params.write_text(yaml.safe_dump({"train": {"learning_rate": 1e-3}}))
    assert cli(train_args(tmp_path, tiny_model_dir, shards, params)) == 2
    assert "unknown key 'learning_rate'" in capsys.readouterr().err
