"""Stage train: contrastive fine-tuning of the encoder on one run's batch shards.

In:  --base-model (from prepare-model), --shards (data/shards/<run>, from `mixbatch
     shards`), --valid (default: <shards>/valid when it exists); params sections `model`
     and `train`; --seed (the run's seed: weight init of nothing new, dropout, data order
     is fixed by the shards).
Out: --out, the best model (lowest validation loss) as a Hugging Face and
     sentence-transformers folder; --log, a CSV (step, loss, val_loss, lr, pairs_per_s),
     one row per evaluation; --metrics, a JSON summary (with the precision used and why).
     --checkpoints holds latest.pt / best.pt while it runs: rerunning the same command
     after a crash resumes from the last checkpoint; a finished run deletes them.
Devices: CUDA when present, else CPU with --threads threads (0: train.threads, else all
cores). Precision: train.precision (mixbatch.model.precision). train.devices > 1 starts
that many processes (gloo on CPU, nccl on GPUs); under torchrun the processes are
torchrun's.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import torch

from mixbatch.errors import MixbatchError
from mixbatch.io import write_json
from mixbatch.model import distributed as D
from mixbatch.stages.common import add_params_argument, add_threads_argument, load_section, set_seeds
from mixbatch.train.loop import Paths, Trainer
from mixbatch.train.shards import shard_files

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_params_argument(parser)
    parser.add_argument("--seed", required=True, type=int, help="the run's seed (params grid.seeds)")
    parser.add_argument("--base-model", required=True, type=Path, help="model folder to start from")
    parser.add_argument("--shards", required=True, type=Path, help="training shard folder (data/shards/<run>)")
    parser.add_argument("--valid", type=Path, default=None, help="validation shard folder (default: <shards>/valid)")
    parser.add_argument("--out", required=True, type=Path, help="model folder to write (data/models/<run>)")
    parser.add_argument("--log", required=True, type=Path, help="training log CSV")
    parser.add_argument("--metrics", type=Path, default=None, help="summary JSON")
    parser.add_argument("--checkpoints", required=True, type=Path, help="checkpoint folder (resume point)")
    add_threads_argument(parser)


def run(paths: Paths, model_params: dict, train_params: dict, seed: int, threads: int = 0) -> dict:
    """Train in this process (one rank when a process group is up); return the metrics."""
    if threads:
        torch.set_num_threads(threads)
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    D.init_from_env("cuda" if torch.cuda.is_available() else "cpu")
    set_seeds(seed)
    return Trainer(paths, model_params, train_params, seed).fit()


def _rank_main(paths: Paths, model_params: dict, train_params: dict, seed: int, threads: int, metrics: Path | None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    result = run(paths, model_params, train_params, seed, threads)
    if D.rank() == 0 and metrics is not None:
        write_json(metrics, result)


def main(args: argparse.Namespace) -> None:
    params = load_section(args, "model", "train")
    train_params = params["train"]
    shard_files(args.shards)  # fail early, before any process starts, when there are none
    valid = args.valid if args.valid is not None else args.shards / "valid"
    if args.valid is not None and not valid.is_dir():
        raise MixbatchError(f"--valid {valid}: no such folder")
    paths = Paths(args.base_model, args.shards, valid if valid.is_dir() else None,
                  args.out, args.log, args.checkpoints)
    if paths.valid is None:
        log.warning("no validation shards (%s): no validation loss, no early stopping", valid)
    devices = train_params["devices"]
    if torch.cuda.is_available() and devices > torch.cuda.device_count():
        raise MixbatchError(f"train.devices={devices} but only {torch.cuda.device_count()} GPU(s) are visible")
    threads = args.threads or train_params["threads"]
    if devices > 1 and "WORLD_SIZE" not in os.environ:
        threads = max(1, (threads or os.cpu_count() or 1) // devices)
        D.launch(_rank_main, devices, paths, params["model"], train_params, args.seed, threads, args.metrics)
    else:
        _rank_main(paths, params["model"], train_params, args.seed, threads, args.metrics)
