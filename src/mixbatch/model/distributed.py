"""Data-parallel helpers: process-group set-up, an all-gather that keeps gradients, and
gradient summation. Single-process runs never touch torch.distributed.

Why no DistributedDataParallel wrapper: GradCache runs several backward passes per step
(one per chunk), and DDP's hooks would all-reduce after each of them. Summing the
gradients by hand once per step (one flat all-reduce) is exact and simpler.
"""

from __future__ import annotations

import os
import socket
from typing import Callable

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def init_from_env(device_type: str) -> bool:
    """Join the process group described by torchrun's env vars (RANK, WORLD_SIZE, ...).

    Returns True when running distributed. gloo on CPU, nccl on CUDA.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or is_distributed():
        return is_distributed()
    dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn_entry(local_rank: int, nprocs: int, port: int, fn: Callable, args: tuple) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(local_rank),
                      LOCAL_RANK=str(local_rank), WORLD_SIZE=str(nprocs))
    try:
        fn(*args)
    finally:
        if is_distributed():
            dist.destroy_process_group()


def launch(fn: Callable, nprocs: int, *args) -> None:
    """Run fn(*args) in nprocs local processes that form a process group (like torchrun)."""
    import torch.multiprocessing as mp

    mp.spawn(_spawn_entry, args=(nprocs, free_port(), fn, args), nprocs=nprocs, join=True)


def _gather_padded(x: torch.Tensor) -> tuple[list[torch.Tensor], list[int]]:
    """all_gather of tensors whose first dimension differs by rank."""
    n = torch.tensor([x.shape[0]], device=x.device)
    sizes = [torch.zeros_like(n) for _ in range(world_size())]
    dist.all_gather(sizes, n)
    sizes = [int(s) for s in sizes]
    padded = x.new_zeros((max(sizes),) + tuple(x.shape[1:]))
    padded[: x.shape[0]] = x
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded.contiguous())
    return [p[:s] for p, s in zip(parts, sizes)], sizes


class _GatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        parts, sizes = _gather_padded(x)
        ctx.sizes, ctx.rank = sizes, rank()
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad):
        # Every rank's loss depends on every rank's rows: the gradient of the summed loss
        # with respect to our rows is the sum over ranks of their gradients.
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = sum(ctx.sizes[: ctx.rank])
        return grad[start:start + ctx.sizes[ctx.rank]]


def gather(x: torch.Tensor) -> torch.Tensor:
    """Concatenate x over ranks (rank order); gradients flow back to each rank's own rows."""
    if not is_distributed():
        return x
    if x.requires_grad:
        return _GatherWithGrad.apply(x)
    return torch.cat(_gather_padded(x)[0])


def offset_and_total(n_local: int, device: torch.device) -> tuple[int, int]:
    """(index of our first row in the gathered batch, total rows over ranks)."""
    if not is_distributed():
        return 0, n_local
    _, sizes = _gather_padded(torch.zeros(n_local, 1, device=device))
    return sum(sizes[: rank()]), sum(sizes)


def sum_gradients(params: list[torch.nn.Parameter]) -> None:
    """Sum .grad over ranks in one flat all-reduce (the loss is already divided by the global batch)."""
    if not is_distributed():
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    start = 0
    for g in grads:
        g.copy_(flat[start:start + g.numel()].view_as(g))
        start += g.numel()


def all_reduce_sum(value: float, device: torch.device) -> float:
    if not is_distributed():
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return float(t)
