"""Per-language-pair outputs of the LAReQA metrics: a CSV (one row per X->Y pair) and a
heatmap PNG of X->Y full-ranking mAP (rows: question language X, columns: candidate
language Y; the diagonal is Mo., the rest Cr.)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mixbatch.io import atomic_path


def pairs_frame(pairs: dict[str, dict]) -> pd.DataFrame:
    """{"X->Y": metrics} as a table with columns question_lang, candidate_lang, metrics..."""
    rows = []
    for key, metrics in pairs.items():
        x, y = key.split("->")
        rows.append({"question_lang": x, "candidate_lang": y, **metrics})
    return pd.DataFrame(rows)


def write_pairs_csv(path: Path, pairs: dict[str, dict]) -> None:
    with atomic_path(path) as tmp:
        pairs_frame(pairs).to_csv(tmp, index=False, float_format="%.6f")


def write_heatmap(path: Path, pairs: dict[str, dict], title: str, metric: str = "map") -> None:
    """X->Y `metric` as an annotated heatmap PNG (matplotlib, Agg: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = pairs_frame(pairs)
    table = df.pivot(index="question_lang", columns="candidate_lang", values=metric)
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
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
