"""Figures (PNG, matplotlib Agg): per-language bars, loss curves, the alpha sweep, the
X->Y mAP heatmap of one run, and the language mix of the top k (language bias)."""

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


def loss_curves(logs: dict[str, pd.DataFrame], colour_of: dict[str, str], path: Path) -> Path:
    """Training loss (left) and validation loss (right) per run against step; the seeds of
    one run config (colour_of: run -> config) share a colour."""
    configs = list(dict.fromkeys(colour_of[r] for r in logs))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    labelled = set()
    for run, df in logs.items():
        config = colour_of[run]
        for ax, column in zip(axes, ("loss", "val_loss")):
            rows = df.dropna(subset=[column]) if column in df else df.iloc[:0]
            ax.plot(rows["step"], rows[column], color=f"C{configs.index(config)}", alpha=0.8, ms=3,
                    marker="o" if column == "val_loss" else None, label=None if config in labelled else config)
        labelled.add(config)
    for ax, title in zip(axes, ("training loss (mean since the last row)", "validation loss")):
        ax.set_xlabel("step")
        ax.set_ylabel("InfoNCE loss")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    return _save(fig, path)


def own_language_share(mix: pd.DataFrame, title: str, path: Path, unseen: set[str] = frozenset()) -> Path:
    """Language bias: per question language X, the share of each run's Mul. top k that is in X
    (bars) against the share of X among the relevant candidates (black marks). mix: the
    seed means of mix.csv (run, question_lang, candidate_lang, top, relevant)."""
    own = mix[mix["question_lang"] == mix["candidate_lang"]]
    table = own.pivot(index="question_lang", columns="run", values="top")[list(dict.fromkeys(own["run"]))]
    relevant = own.groupby("question_lang")["relevant"].first().reindex(table.index)
    langs, runs = list(table.index), list(table.columns)
    width = 0.8 / max(len(runs), 1)
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(langs) + 2), 4))
    x = np.arange(len(langs))
    for i, run in enumerate(runs):
        ax.bar(x + i * width - 0.4 + width / 2, table[run].values, width, label=run)
    ax.scatter(x, relevant.values, color="k", marker="_", s=400, zorder=3, label="relevant candidates")
    ax.set_xticks(x, [f"{l}*" if l in unseen else l for l in langs])
    ax.set_ylabel("share in the question's own language")
    ax.set_ylim(0, 1)
    ax.set_title(title + ("  (* unseen in training)" if unseen else ""))
    ax.legend(fontsize=8, ncols=min(len(runs) + 1, 4))
    ax.grid(axis="y", alpha=0.3)
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


def map_heatmap(pairs: pd.DataFrame, title: str, path: Path, metric: str = "map") -> Path:
    """X->Y `metric` (rows: question language X, columns: candidate language Y; the
    diagonal is Mo., the rest Cr.) as an annotated heatmap. pairs: lareqa.pairs_frame."""
    table = pairs.pivot(index="question_lang", columns="candidate_lang", values=metric)
    langs = sorted(set(table.index) | set(table.columns))
    table = table.reindex(index=langs, columns=langs)
    fig, ax = plt.subplots(figsize=(1 + 0.55 * len(langs), 0.8 + 0.5 * len(langs)))
    im = ax.imshow(table.to_numpy(dtype=float), vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(len(langs)), langs)
    ax.set_yticks(range(len(langs)), langs)
    ax.set_xlabel("candidate language (Y)")
    ax.set_ylabel("question language (X)")
    ax.set_title(title)
    for i in range(len(langs)):
        for j in range(len(langs)):
            v = table.iat[i, j]
            if not np.isnan(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="w" if v < 0.6 else "k")
    fig.colorbar(im, ax=ax, fraction=0.046)
    return _save(fig, path)
