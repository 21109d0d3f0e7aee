"""`mixbatch train` end to end on the tiny model: outputs, determinism, resume after SIGKILL,
best-checkpoint selection, multi-process smoke run, and bad input."""

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
         "threads": 1, "freeze_word_embeddings": False}
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
    return ["train", "--params", str(params), "--base-model", str(model_dir), "--shards", str(shards),
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
    assert (tmp_path / "a" / "ckpt" / "latest.pt").exists()


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


def test_changed_params_start_afresh(tmp_path, tiny_model_dir, shards):
    assert cli(train_args(tmp_path, tiny_model_dir, shards, params_file(tmp_path, max_steps=4))) == 0
    assert cli(train_args(tmp_path, tiny_model_dir, shards, params_file(tmp_path, max_steps=6))) == 0
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["steps"] == 6


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
