"""Report figures (PNG, matplotlib Agg): per-language bars, loss curves, the alpha sweep."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mixbatch.io import atomic_path  # noqa: E402


def _save(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def per_lang_bars(table: pd.DataFrame, title: str, ylabel: str, path: Path, unseen: set[str] = frozenset()) -> Path:
    """Grouped bars: one group per language (rows), one bar per run (columns)."""
    langs, runs = list(table.index), list(table.columns)
    width = 0.8 / max(len(runs), 1)
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(langs) + 2), 4))
    x = np.arange(len(langs))
    for i, run in enumerate(runs):
        ax.bar(x + i * width - 0.4 + width / 2, table[run].astype(float).values, width, label=run)
    ax.set_xticks(x, [f"{l}*" if l in unseen else l for l in langs])
    ax.set_ylabel(ylabel)
    ax.set_title(title + ("  (* unseen in training)" if unseen else ""))
    ax.legend(fontsize=8, ncols=min(len(runs), 4))
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def loss_curves(logs: dict[str, pd.DataFrame], path: Path) -> Path:
    """Training loss (solid) and validation loss (dashed, markers) per run against step."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (run, df) in enumerate(logs.items()):
        color = f"C{i}"
        train = df.dropna(subset=["loss"])
        ax.plot(train["step"], train["loss"], color=color, label=f"{run} train")
        if "val_loss" in df:
            valid = df.dropna(subset=["val_loss"])
            ax.plot(valid["step"], valid["val_loss"], color=color, ls="--", marker="o", ms=3, label=f"{run} valid")
    ax.set_xlabel("step")
    ax.set_ylabel("InfoNCE loss")
    ax.set_title("Training and validation loss")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def alpha_sweep(points: pd.DataFrame, dataset: str, path: Path) -> Path:
    """Mo./Cr./Mul. mAP against alpha (the probability of an X-X batch): X-Y is alpha 0, X-X alpha 1."""
    points = points.sort_values("alpha")
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (("mo_map", "Mo."), ("cr_map", "Cr."), ("mul_map", "Mul.")):
        ax.plot(points["alpha"], points[key], marker="o", label=label)
    ax.set_xlabel("alpha = P(batch is X-X)")
    ax.set_ylabel("mAP")
    ax.set_title(f"{dataset}: hybrid batch sampling, alpha sweep")
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)
