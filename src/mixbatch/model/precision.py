"""Which floating-point precision the encoder computes in, decided from the hardware.

`auto` uses bf16 where the device has native bf16 arithmetic, fp32 elsewhere:
- CPU: the `amx_bf16` (AMX tiles) or `avx512_bf16` flags of /proc/cpuinfo. Without them
  bf16 is emulated and slower than fp32, so auto picks fp32.
- CUDA: torch.cuda.is_bf16_supported() (Ampere and newer).
The decision and its reason go into the run's metadata and log. bf16 is only the compute
type: master weights, optimiser state, the loss, similarities and the written embeddings
stay fp32 (mixbatch.train.loop keeps an fp32 master copy of the trained weights).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import torch

from mixbatch.errors import MixbatchError

NATIVE_BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


@dataclass(frozen=True)
class Precision:
    name: str      # "bf16" | "fp32"
    reason: str    # why: the request and what the hardware has

    @property
    def dtype(self) -> torch.dtype:
        return torch.bfloat16 if self.name == "bf16" else torch.float32

    def as_dict(self) -> dict:
        return {"precision": self.name, "precision_reason": self.reason}


@functools.lru_cache(maxsize=1)
def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU feature flags the kernel reports (empty where /proc/cpuinfo is absent)."""
    path = Path(cpuinfo)
    if not path.exists():
        return frozenset()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def native_bf16(device: torch.device, flags: frozenset[str] | None = None) -> tuple[bool, str]:
    """(has native bf16, what was found) for `device`."""
    if device.type == "cuda":
        ok = torch.cuda.is_bf16_supported()
        return ok, f"CUDA device {torch.cuda.get_device_name(device)}: bf16 {'supported' if ok else 'not supported'}"
    flags = cpu_flags() if flags is None else flags
    found = [f for f in NATIVE_BF16_CPU_FLAGS if f in flags]
    if found:
        return True, f"CPU has {' and '.join(found)}"
    return False, f"CPU has neither {' nor '.join(NATIVE_BF16_CPU_FLAGS)} (bf16 would be emulated)"


def resolve(requested: str, device: torch.device, flags: frozenset[str] | None = None) -> Precision:
    """The precision to compute in for a `train.precision` / `encode.precision` value."""
    if requested not in ("auto", "fp32", "bf16"):
        raise MixbatchError(f"precision: {requested!r} is not allowed; allowed: auto, fp32, bf16")
    native, found = native_bf16(device, flags)
    if requested == "auto":
        return Precision("bf16" if native else "fp32", f"auto: {found}")
    return Precision(requested, f"{requested} requested ({found})")
