"""Training checkpoints: trainable weights, optimiser, scheduler, RNG states, position.

Only the weights that train are saved (the frozen word embeddings are ~80% of the
default model and never change, so they are reloaded from the base model folder).
Each checkpoint is one file written atomically; `latest.pt` is replaced, never edited,
so a run killed at any moment leaves the previous complete checkpoint in place.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mixbatch.io import atomic_path

LATEST, BEST = "latest.pt", "best.pt"


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The parameters that train, detached copies on the CPU."""
    return {n: p.detach().to("cpu", copy=True) for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    params = dict(model.named_parameters())
    missing = {n for n, p in params.items() if p.requires_grad} - set(state)
    unknown = set(state) - set(params)
    if missing or unknown:
        raise ValueError(f"checkpoint does not fit the model: missing {sorted(missing)[:3]}, unknown {sorted(unknown)[:3]}")
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value)


def rng_states() -> dict[str, Any]:
    states = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save(path: Path, payload: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load(path: Path) -> dict[str, Any] | None:
    """The checkpoint at path, or None when there is none."""
    if not path.exists():
        return None
    # weights_only=False: the payload holds RNG states (tuples, numpy arrays) we wrote ourselves.
    return torch.load(path, map_location="cpu", weights_only=False)
