"""The training loop: stream shard batches, AdamW + linear warm-up/decay, validation,
early stopping, checkpoints, resume. One process per device; see mixbatch.model.distributed.

Inputs: a base model folder, a training shard folder (and optionally a validation one).
Outputs: the best model as a Hugging Face folder, a CSV log (step, loss, val_loss, lr,
pairs_per_s; one row per evaluation), a metrics dict. Params: sections `model`, `train`.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from mixbatch.errors import MixbatchError
from mixbatch.io import atomic_dir, atomic_path
from mixbatch.model import checkpoint as ckpt
from mixbatch.model import distributed as D
from mixbatch.model.encoder import Encoder, EncoderSettings
from mixbatch.model.wheels import readable
from mixbatch.model.loss import contrastive_step, id_codes, info_nce
from mixbatch.train.shards import Batch, count_batches, iter_batches, shard_files

log = logging.getLogger(__name__)
LOG_FIELDS = ["step", "loss", "val_loss", "lr", "pairs_per_s"]


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


def fingerprint(paths: Paths, model_params: dict, train_params: dict, seed: int) -> str:
    """What a checkpoint must agree with to be resumed: params and the exact shards."""
    h = hashlib.sha256(json.dumps([model_params, train_params, seed], sort_keys=True).encode())
    for f in shard_files(paths.shards):
        h.update(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}".encode())
    return h.hexdigest()


def build_optimizer(model: torch.nn.Module, train: dict, total_steps: int):
    """AdamW (no decay on biases and LayerNorm weights) and a linear warm-up/decay schedule."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": train["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=train["lr"])
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
        torch.manual_seed(seed + self.rank)  # dropout streams differ by rank
        self.encoder = Encoder.load(paths.base_model, EncoderSettings.from_params(model_params))
        if train_params["freeze_word_embeddings"]:
            self.encoder.freeze_word_embeddings()
        self.encoder.to(self.device).train()
        self.params = [p for p in self.encoder.parameters() if p.requires_grad]
        available = count_batches(paths.shards)
        cap = train_params["max_steps"]
        self.total_steps = min(available, cap) if cap else available
        self.opt, self.sched = build_optimizer(self.encoder.model, train_params, self.total_steps)
        self.fingerprint = fingerprint(paths, model_params, train_params, seed)
        self.state = State()
        self.amp = (self.device.type == "cuda" and train_params["bf16_on_cuda"])

    # --- one batch --------------------------------------------------------------------
    def _autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16) if self.amp else contextlib.nullcontext()

    def _embed(self, features):
        with self._autocast():
            return self.encoder.embed(features)

    def _sides(self, batch: Batch):
        local = batch.rows(self.rank, self.world)
        sides = [self.encoder.tokenize(local.queries, "query"), self.encoder.tokenize(local.positives, "passage")]
        if local.negatives is not None:
            sides.append(self.encoder.tokenize(local.negatives, "passage"))
        return sides, id_codes(local.xling_ids).to(self.device), len(batch)

    def train_step(self, batch: Batch) -> float:
        sides, ids, _ = self._sides(batch)
        self.opt.zero_grad(set_to_none=True)
        loss = contrastive_step(self._embed, sides, ids, self.train_params["temperature"],
                                self.train_params["grad_cache_chunk_size"], self.device,
                                self.train_params["length_bucket_size"])
        D.sum_gradients(self.params)
        if self.train_params["max_grad_norm"] > 0:
            torch.nn.utils.clip_grad_norm_(self.params, self.train_params["max_grad_norm"])
        self.opt.step()
        self.sched.step()
        return D.all_reduce_sum(float(loss), self.device)

    @torch.no_grad()
    def validate(self) -> float | None:
        """Mean validation InfoNCE over every row of the validation shards (eval mode)."""
        if self.paths.valid is None:
            return None
        self.encoder.eval()
        total, rows = 0.0, 0
        cap = self.train_params["max_valid_batches"]
        for i, batch in enumerate(iter_batches(self.paths.valid)):
            if cap and i >= cap:
                break
            sides, ids, n = self._sides(batch)
            embs = [self._embed(f) for f in sides]
            loss = info_nce(embs[0], embs[1], ids, embs[2] if len(embs) > 2 else None, self.train_params["temperature"])
            total += D.all_reduce_sum(float(loss), self.device) * n
            rows += n
        self.encoder.train()
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
                                                              "weights": ckpt.trainable_state(self.encoder.model)})
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
                "fingerprint": self.fingerprint, "weights": ckpt.trainable_state(self.encoder.model),
                "optimizer": self.opt.state_dict(), "scheduler": self.sched.state_dict(),
                "state": vars(self.state), "rng": rngs})

    def try_resume(self) -> bool:
        saved = ckpt.load(self.paths.checkpoints / ckpt.LATEST)
        if saved is None:
            return False
        if saved["fingerprint"] != self.fingerprint:
            log.warning("%s: checkpoint from other params or shards; starting afresh", self.paths.checkpoints)
            return False
        ckpt.load_trainable_state(self.encoder.model, saved["weights"])
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
        best = ckpt.load(self.paths.checkpoints / ckpt.BEST) if s.best_step >= 0 and self.rank == 0 else None
        if best is not None:
            ckpt.load_trainable_state(self.encoder.model, best["weights"])
        metrics = {"steps": s.step, "total_steps": self.total_steps, "best_step": s.best_step,
                   "best_val_loss": s.best_val if s.best_step >= 0 else None,
                   "initial_val_loss": s.rows[0]["val_loss"] if s.rows else None,
                   "stopped_early": s.stopped_early, "world_size": self.world}
        if self.rank == 0:
            write_log(self.paths.log_csv, s.rows)
            with atomic_dir(self.paths.out_model) as tmp:
                self.encoder.save(tmp)
                (tmp / "mixbatch_train.json").write_text(json.dumps(metrics, indent=2) + "\n")
                readable(tmp)
        return metrics


def write_log(path: Path, rows: list[dict[str, Any]]) -> None:
    """Rewrite the CSV log from the rows (so a resumed run's log has no duplicate steps)."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, LOG_FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r[k] is None else (f"{r[k]:.6g}" if isinstance(r[k], float) else r[k]))
                        for k in LOG_FIELDS})
