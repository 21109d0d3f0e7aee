"""Synthetic score-stage outputs for the report and compare tests: per-question tables with
known effects, headline files, per-language and language-mix tables, training logs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

LANGS = ("de", "en", "th")  # th: unseen when training on de, en
SEEN = ["de", "en"]
# run config -> (shift of ap in mo, cr and mul rows, shift of the rank distance)
EFFECTS = {"zeroshot": (0.0, 0.0, 0.0, 400.0), "xx": (0.20, 0.05, 0.05, 300.0),
           "xy": (0.05, 0.20, 0.08, 200.0), "hybrid": (0.12, 0.12, 0.20, 100.0)}


def question_table(config: str, seed: int, n_ids: int = 60, noise: float = 0.05) -> pd.DataFrame:
    """Rows of mixbatch.metrics.questions for one run: every id in every language."""
    rng = np.random.default_rng([sum(map(ord, config)), seed])
    id_effect = np.random.default_rng(0).normal(0, 0.1, n_ids)  # shared by every run: a paired design
    mo, cr, mul, rd = EFFECTS[config]
    rows = []
    for i in range(n_ids):
        for x in LANGS:
            qid, xid = f"{x}:q{i}", f"q{i}"
            base = 0.4 + id_effect[i]
            rows.append((qid, xid, x, "mul", "*", base + mul, rd + 50 * id_effect[i]))
            rows.append((qid, xid, x, "mo", x, base + mo, np.nan))
            rows += [(qid, xid, x, "cr", y, base + cr, np.nan) for y in LANGS if y != x]
    df = pd.DataFrame(rows, columns=["qid", "xling_id", "q_lang", "setting", "c_lang", "ap", "rank_distance"])
    df["ap"] = np.clip(df["ap"] + rng.normal(0, noise, len(df)), 0, 1)
    df["rank_distance"] = df["rank_distance"] + rng.normal(0, 10, len(df)) * df["rank_distance"].notna()
    df["ap@20"] = df["ap"] * 0.98
    df["r@1"] = (df["ap"] > 0.5).astype(float)
    df["r@10"] = (df["ap"] > 0.3).astype(float)
    df["recall@1"], df["recall@10"] = df["r@1"], df["r@10"]
    return df


def write_results(root: Path, runs: dict[str, list[int | None]], dataset: str = "xquad-r") -> Path:
    """results/{details,metrics,plots,train} for run configs -> seeds (None: zero-shot)."""
    for config, seeds in runs.items():
        for seed in seeds:
            name = config if seed is None else f"{config}-s{seed}"
            table = question_table(config, seed or 0)
            details = root / "details" / name / dataset
            details.mkdir(parents=True)
            table.to_parquet(details / "questions.parquet", index=False)
            mul = table[table["setting"] == "mul"]
            headline = {"mo_map": float(table[table["setting"] == "mo"].groupby("q_lang")["ap"].mean().mean()),
                        "mul_map": float(mul["ap"].mean()), "rank_distance": float(mul.groupby("q_lang")["rank_distance"].mean().mean())}
            (root / "metrics" / name).mkdir(parents=True, exist_ok=True)
            (root / "metrics" / name / f"{dataset}.json").write_text(json.dumps(headline))
            (root / "metrics" / name / "tatoeba.json").write_text(json.dumps(
                {"acc": 0.8 + EFFECTS[config][0] / 10, "xx->en": 0.8, "en->xx": 0.8, "n_languages": 10, "acc_all": 0.7}))
            plots = root / "plots" / name / dataset
            plots.mkdir(parents=True)
            per_lang = mul.groupby("q_lang")["ap"].mean().rename("mul_map").rename_axis("lang").reset_index()
            per_lang.to_csv(plots / "per_lang.csv", index=False)
            own = 0.9 - EFFECTS[config][2]
            mix = [{"question_lang": x, "candidate_lang": y, "top": own if x == y else (1 - own) / 2, "relevant": 1 / 3}
                   for x in LANGS for y in LANGS]
            pd.DataFrame(mix).to_csv(plots / "mix.csv", index=False)
            if seed is not None:
                (root / "train" / name).mkdir(parents=True)
                pd.DataFrame({"step": [0, 10, 20], "loss": [None, 1.0, 0.5], "val_loss": [1.5, 0.9, 0.8]}).to_csv(
                    root / "train" / name / "log.csv", index=False)
    return root
