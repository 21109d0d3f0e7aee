"""Small split tables (the `data/split/<dataset>/{train,valid}.parquet` contract) for the shards tests.

Ids are "<prefix>000", "<prefix>001", ...; language L has the first `ids_per_lang[L]` of
them, so parallelism is nested (the first ids exist in every language, the last only in
the largest one). Every text names its language and id ("de question x003"), so a test
can check that the right row was gathered. Rows are written in reverse order, so nothing
can rely on the input being sorted.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

COLUMNS = ["xling_id", "lang", "qid", "question", "cid", "sentence", "context"]


def split_table(ids_per_lang: dict[str, int], prefix: str = "x") -> pa.Table:
    rows = []
    for lang, n in ids_per_lang.items():
        for i in range(n):
            xid = f"{prefix}{i:03d}"
            rows.append({
                "xling_id": xid, "lang": lang, "qid": f"{lang}:{xid}", "question": f"{lang} question {xid}",
                "cid": f"{lang}:0:{i}:0", "sentence": f"{lang} sentence {xid}", "context": f"{lang} context {xid}",
            })
    rows.reverse()
    return pa.Table.from_pylist(rows, schema=pa.schema([(c, pa.large_string()) for c in COLUMNS]))


def write_split(split_dir: Path, dataset: str, train: dict[str, int], valid: dict[str, int], prefix: str = "x") -> Path:
    """Write <split_dir>/<dataset>/{train,valid}.parquet; valid ids get their own prefix."""
    folder = split_dir / dataset
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(split_table(train, prefix), folder / "train.parquet")
    pq.write_table(split_table(valid, prefix + "v"), folder / "valid.parquet")
    return folder


def write_params(path: Path, shards: dict | None = None, runs: dict | None = None,
                 datasets: list[str] | None = None, seed: int = 13) -> Path:
    """A params file with the given `shards` section and `grid.runs` (schema defaults fill
    the rest); `grid.seeds` is [seed], the seed the tests pass to `mixbatch shards --seed`."""
    params = {"grid": {"seeds": [seed]}, "split": {"datasets": datasets or ["mlqa-r"]}, "shards": shards or {}}
    if runs is not None:
        params["grid"]["runs"] = runs
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return path
