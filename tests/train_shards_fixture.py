"""Small batch shards in the output format of `mixbatch shards` (issue 3), for the trainer tests.

(Named apart from shards_fixture.py, which holds split tables for the shards tests.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

SENTENCES = {
    "en": ["Where is the largest port in Kenya?", "The port of Mombasa is the largest in Kenya.",
           "Who wrote the book?", "The river flows into the sea.", "When did the war end?"],
    "de": ["Wo ist der größte Hafen Kenias?", "Der Hafen von Mombasa ist der größte Kenias.",
           "Wer hat das Buch geschrieben?", "Der Fluss mündet ins Meer.", "Wann endete der Krieg?"],
    "es": ["¿Dónde está el puerto más grande de Kenia?", "El puerto de Mombasa es el más grande.",
           "¿Quién escribió el libro?", "El río desemboca en el mar.", "¿Cuándo terminó la guerra?"],
    "zh": ["肯尼亚最大的港口在哪里？", "蒙巴萨港是肯尼亚最大的港口。", "谁写了这本书？", "河流入海。", "战争什么时候结束？"],
}


def make_rows(n_batches: int, batch_size: int, start_batch: int = 0, negatives: bool = False) -> pd.DataFrame:
    """Deterministic rows: batch b alternates X-X (one language) and X-Y; ids unique per batch."""
    langs = sorted(SENTENCES)
    rows = []
    for b in range(start_batch, start_batch + n_batches):
        xx = b % 2 == 0
        for i in range(batch_size):
            k = (b * batch_size + i) % 5
            ql = langs[b % len(langs)] if xx else langs[i % len(langs)]
            pl = ql if xx else langs[(i + 1) % len(langs)]
            row = {"batch": b, "batch_type": "xx" if xx else "xy", "dataset": "mlqa-r",
                   "xling_id": f"id{b}-{i}", "q_lang": ql, "p_lang": pl,
                   "query": f"{SENTENCES[ql][k]} {i}", "positive": f"{SENTENCES[pl][(k + 1) % 5]} {b}"}
            if negatives:
                row["negative"] = SENTENCES[pl][(k + 2) % 5]
            rows.append(row)
    return pd.DataFrame(rows)


def write_shards(folder: Path, n_batches: int, batch_size: int, batches_per_shard: int = 4,
                 n_valid: int = 2, negatives: bool = False) -> Path:
    """A data/shards/<run>-like folder: shard-NNNNN.parquet, manifest.json and valid/."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = make_rows(n_batches, batch_size, negatives=negatives)
    for i, a in enumerate(range(0, n_batches, batches_per_shard)):
        part = rows[(rows["batch"] >= a) & (rows["batch"] < a + batches_per_shard)]
        part.to_parquet(folder / f"shard-{i:05d}.parquet", index=False)
    (folder / "manifest.json").write_text(json.dumps({"batches": n_batches}))
    if n_valid:
        valid = folder / "valid"
        valid.mkdir(exist_ok=True)
        make_rows(n_valid, batch_size, start_batch=1000, negatives=negatives).to_parquet(
            valid / "shard-00000.parquet", index=False)
    return folder
