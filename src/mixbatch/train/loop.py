"""The training loop: stream shard batches, AdamW + linear warm-up/decay, validation,
early stopping, checkpoints, resume. One process per device; see mixbatch.model.distributed.

Inputs: a base model folder, a training shard folder (and optionally a validation one).
Outputs: the best model as a Hugging Face folder, a CSV log (step, loss, val_loss, lr,
pairs_per_s; one row per evaluation), a metrics dict. Params: sections `model`, `train`.

Precision (mixbatch.model.precision): the fp32 `master` encoder holds the weights the
optimiser updates and the checkpoints and the saved model store. With bf16, forward and
backward run on a bf16 copy (`compute`): its gradients are copied into the master's fp32
gradients, the optimiser steps in fp32, and the master's weights are copied back. On CPU
the attention is transformers' "eager" kernel (measured faster in training than SDPA's,
whose CPU backward is slow) and token lengths are padded to a multiple of 8.

A checkpoint is valid only for the training it came from: its fingerprint covers the
training code, the base model's bytes, the shard files' bytes, the params, the seed and
the process and thread counts. A finished run deletes its checkpoints.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from mixbatch.errors import MixbatchError
from mixbatch.io import atomic_dir, atomic_path, sha256_file
from mixbatch.model import checkpoint as ckpt
from mixbatch.model import distributed as D
from mixbatch.model import precision as P
from mixbatch.model.encoder import Encoder, EncoderSettings
from mixbatch.model.loss import contrastive_step, id_codes, info_nce, text_codes
from mixbatch.pipeline.code import SRC_ROOT, code_files, file_digests
from mixbatch.train.shards import Batch, count_batches, iter_batches, shard_files

log = logging.getLogger(__name__)
LOG_FIELDS = ["step", "loss", "val_loss", "lr", "pairs_per_s"]
PAD_MULTIPLE = 8
# Settings that do not change what training computes (so not in the fingerprint).
NOT_FINGERPRINTED = ("threads", "checkpoint_every")


@dataclass
class Paths:
    base_model: Path
    shards: Path
    valid: Path | None
    out_model: Path
    log_csv: Path
    checkpoints: Path


@dataclass
class State:
    """Everything besides weights and optimiser that a resumed run must restore."""
    step: int = 0
    best_val: float = math.inf
    best_step: int = -1
    bad_evals: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    pending: list[float] = field(default_factory=list)   # train losses since the last row
    stopped_early: bool = False


def _folder_digest(folder: Path, pattern: str = "*") -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(folder.glob(pattern)) if p.is_file()}


def fingerprint(paths: Paths, model_params: dict, train_params: dict, seed: int, world: int, threads: int) -> str:
    """What a checkpoint must agree with to be resumed (see the module docstring)."""
    blob = {
        "code": file_digests(code_files("mixbatch.stages.train", SRC_ROOT), SRC_ROOT),
        "base_model": _folder_digest(paths.base_model),
        "shards": _folder_digest(paths.shards, "shard-*.parquet"),
        "valid": _folder_digest(paths.valid, "shard-*.parquet") if paths.valid else None,
        "model": model_params,
        "train": {k: v for k, v in train_params.items() if k not in NOT_FINGERPRINTED},
        "seed": seed, "processes": world, "threads": threads,
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()


def build_optimizer(model: torch.nn.Module, train: dict, total_steps: int):
    """AdamW (no decay on biases and LayerNorm weights) and a linear warm-up/decay schedule."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 else decay).append(p)
    # fused: one kernel per step for all tensors (supported on CPU and CUDA)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": train["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=train["lr"], fused=True)
    warmup = int(round(train["warmup_ratio"] * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


class Trainer:
    def __init__(self, paths: Paths, model_params: dict, train_params: dict, seed: int):
        self.paths, self.train_params, self.seed = paths, train_params, seed
        self.device = torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")
        self.rank, self.world = D.rank(), D.world_size()
        self.precision = P.resolve(train_params["precision"], self.device)
        torch.manual_seed(seed + self.rank)  # dropout streams differ by rank
        on_cpu = self.device.type == "cpu"
        self.master = Encoder.load(paths.base_model, EncoderSettings.from_params(model_params),
                                   attn_implementation="eager" if on_cpu else None, dropout=train_params["dropout"])
        self.master.pad_multiple = PAD_MULTIPLE if on_cpu else None
        if train_params["freeze_word_embeddings"]:
            self.master.freeze_word_embeddings()
        self.master.to(self.device).train()
        self.compute = self.master.compute_copy(self.precision.dtype)
        self.params = [p for p in self.master.parameters() if p.requires_grad]
        self.compute_params = [p for p in self.compute.parameters() if p.requires_grad]
        available = count_batches(paths.shards)
        cap = train_params["max_steps"]
        self.total_steps = min(available, cap) if cap else available
        self.opt, self.sched = build_optimizer(self.master.model, train_params, self.total_steps)
        self.fingerprint = fingerprint(paths, model_params, train_params, seed, self.world, torch.get_num_threads())
        self.state = State()
        log.info("precision %s (%s); %d threads", self.precision.name, self.precision.reason, torch.get_num_threads())

    # --- one batch --------------------------------------------------------------------
    def _sides(self, batch: Batch):
        local = batch.rows(self.rank, self.world)
        tok = self.compute.tokenize
        sides = [tok(local.queries, "query"), tok(local.positives, "passage")]
        texts = [text_codes(local.positives)]
        if local.negatives is not None:
            sides.append(tok(local.negatives, "passage"))
            texts.append(text_codes(local.negatives))
        return sides, id_codes(local.xling_ids).to(self.device), texts, len(batch)

    def _sync_compute_weights(self) -> None:
        if self.compute is not self.master:
            with torch.no_grad():
                torch._foreach_copy_(self.compute_params, self.params)

    def train_step(self, batch: Batch) -> float:
        sides, ids, texts, _ = self._sides(batch)
        self.opt.zero_grad(set_to_none=True)
        tp = self.train_params
        loss = contrastive_step(self.compute.embed, sides, ids, tp["temperature"], tp["grad_cache_chunk_size"],
                                self.device, tp["length_bucket_size"], texts, self.compute.pad_multiple)
        if self.compute is not self.master:  # bf16 gradients into the fp32 master gradients
            for master, work in zip(self.params, self.compute_params):
                master.grad = None if work.grad is None else work.grad.float()
                work.grad = None
        D.sum_gradients(self.params)
        if tp["max_grad_norm"] > 0:
            torch.nn.utils.clip_grad_norm_(self.params, tp["max_grad_norm"])
        self.opt.step()
        self.sched.step()
        self._sync_compute_weights()
        return D.all_reduce_sum(float(loss), self.device)

    @torch.no_grad()
    def validate(self) -> float | None:
        """Mean validation InfoNCE over every row of the validation shards (eval mode)."""
        if self.paths.valid is None:
            return None
        self.compute.eval()
        total, rows = 0.0, 0
        cap = self.train_params["max_valid_batches"]
        for i, batch in enumerate(iter_batches(self.paths.valid)):
            if cap and i >= cap:
                break
            sides, ids, texts, n = self._sides(batch)
            embs = [self.compute.embed(f) for f in sides]
            neg = (embs[2], texts[1]) if len(embs) > 2 else (None, None)
            loss = info_nce(embs[0], embs[1], ids, neg[0], self.train_params["temperature"], texts[0], neg[1])
            total += D.all_reduce_sum(float(loss), self.device) * n
            rows += n
        self.compute.train()
        return total / rows if rows else None

    # --- bookkeeping ------------------------------------------------------------------
    def _evaluate_and_log(self, pairs_per_s: float | None) -> None:
        s = self.state
        val = self.validate()
        loss = sum(s.pending) / len(s.pending) if s.pending else None
        s.pending = []
        s.rows.append({"step": s.step, "loss": loss, "val_loss": val,
                       "lr": self.sched.get_last_lr()[0], "pairs_per_s": pairs_per_s})
        if val is None:
            return
        if val < s.best_val:
            s.best_val, s.best_step, s.bad_evals = val, s.step, 0
            if self.rank == 0:
                ckpt.save(self.paths.checkpoints / ckpt.BEST, {"fingerprint": self.fingerprint, "step": s.step,
                                                              "weights": ckpt.trainable_state(self.master.model)})
        else:
            s.bad_evals += 1
            patience = self.train_params["patience"]
            s.stopped_early = bool(patience and s.bad_evals >= patience)
        if self.rank == 0:
            write_log(self.paths.log_csv, s.rows)

    def save_checkpoint(self) -> None:
        rngs = [ckpt.rng_states()]
        if D.is_distributed():
            rngs = [None] * self.world
            torch.distributed.all_gather_object(rngs, ckpt.rng_states())
        if self.rank == 0:
            ckpt.save(self.paths.checkpoints / ckpt.LATEST, {
                "fingerprint": self.fingerprint, "weights": ckpt.trainable_state(self.master.model),
                "optimizer": self.opt.state_dict(), "scheduler": self.sched.state_dict(),
                "state": vars(self.state), "rng": rngs})

    def _load_valid(self, name: str) -> dict | None:
        """A checkpoint of this very training, or None (a stale one is reported, not used)."""
        saved = ckpt.load(self.paths.checkpoints / name)
        if saved is not None and saved["fingerprint"] != self.fingerprint:
            log.warning("%s: from another training (code, base model, shards, params, seed, processes or "
                        "threads differ); not used", self.paths.checkpoints / name)
            return None
        return saved

    def try_resume(self) -> bool:
        saved = self._load_valid(ckpt.LATEST)
        if saved is None:
            shutil.rmtree(self.paths.checkpoints, ignore_errors=True)  # a stale best.pt must not survive either
            return False
        ckpt.load_trainable_state(self.master.model, saved["weights"])
        self._sync_compute_weights()
        self.opt.load_state_dict(saved["optimizer"])
        self.sched.load_state_dict(saved["scheduler"])
        self.state = State(**saved["state"])
        if len(saved["rng"]) != self.world:
            raise MixbatchError(f"{self.paths.checkpoints}: checkpoint from {len(saved['rng'])} processes, "
                                f"this run has {self.world}; use the same train.devices to resume")
        ckpt.set_rng_states(saved["rng"][self.rank])
        log.info("resumed from step %d of %d", self.state.step, self.total_steps)
        return True

    # --- the loop ---------------------------------------------------------------------
    def fit(self) -> dict[str, Any]:
        if not self.try_resume():
            self._evaluate_and_log(None)  # step 0: the untrained model's validation loss
        s, tp = self.state, self.train_params  # after try_resume, which replaces the state
        every, t_rows, t0 = tp["eval_every"], 0, time.perf_counter()
        bar = tqdm(total=self.total_steps, initial=s.step, desc="train", unit="step", disable=self.rank != 0)
        for batch in iter_batches(self.paths.shards, skip=s.step):
            if s.step >= self.total_steps or s.stopped_early:
                break
            s.pending.append(self.train_step(batch))
            s.step += 1
            t_rows += len(batch)
            bar.update(1)
            bar.set_postfix(loss=f"{s.pending[-1]:.4f}", pairs_s=f"{t_rows / (time.perf_counter() - t0):.1f}")
            if (every and s.step % every == 0) or s.step == self.total_steps:
                self._evaluate_and_log(t_rows / (time.perf_counter() - t0))
                t_rows, t0 = 0, time.perf_counter()
            if tp["checkpoint_every"] and s.step % tp["checkpoint_every"] == 0:
                self.save_checkpoint()
        bar.close()
        return self.finish()

    def finish(self) -> dict[str, Any]:
        s = self.state
        if s.best_step >= 0 and self.rank == 0:
            best = self._load_valid(ckpt.BEST)
            if best is None or best["step"] != s.best_step:
                raise MixbatchError(f"{self.paths.checkpoints / ckpt.BEST}: missing or not the best step "
                                    f"{s.best_step} of this training; delete {self.paths.checkpoints} and rerun")
            ckpt.load_trainable_state(self.master.model, best["weights"])
        metrics = {"steps": s.step, "total_steps": self.total_steps, "best_step": s.best_step,
                   "best_val_loss": s.best_val if s.best_step >= 0 else None,
                   "initial_val_loss": s.rows[0]["val_loss"] if s.rows else None,
                   "stopped_early": s.stopped_early, "world_size": self.world, **self.precision.as_dict()}
        if self.rank == 0:
            write_log(self.paths.log_csv, s.rows)
            with atomic_dir(self.paths.out_model) as tmp:
                self.master.save(tmp)
                (tmp / "mixbatch_train.json").write_text(json.dumps(metrics, indent=2) + "\n")
            shutil.rmtree(self.paths.checkpoints, ignore_errors=True)  # nothing left to resume from
        return metrics


def write_log(path: Path, rows: list[dict[str, Any]]) -> None:
    """Rewrite the CSV log from the rows (so a resumed run's log has no duplicate steps)."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, LOG_FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r[k] is None else (f"{r[k]:.6g}" if isinstance(r[k], float) else r[k]))
                        for k in LOG_FIELDS})
