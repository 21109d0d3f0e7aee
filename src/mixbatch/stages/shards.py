"""Stage shards: the training and validation batches of one run, as Parquet shards.

In:  <split-dir>/<dataset>/{train,valid}.parquet for each training data set
     (params `split.datasets`; from `mixbatch split`); params `seed`, section `shards`
     and the run's entry in `runs` (sampling xx | xy | hybrid, alpha).
Out: <out>/shard-00000.parquet ... + <out>/manifest.json (training batches) and the same
     under <out>/valid/ (validation batches), written atomically as one folder.
     Columns and manifest: mixbatch.batching.writer. Runs are resolved by
     mixbatch.grid (params `runs` plus `sweep.alphas`). A run with sampling none (the
     untrained model) gets a folder with no batches (manifests only), so that every run
     has the same stages (mixbatch.grid).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path
from typing import Any

from mixbatch.batching import ShardSpec, build_shards, p_xx_for
from mixbatch.errors import MixbatchError
from mixbatch.grid import expand_runs
from mixbatch.io import atomic_dir, write_json
from mixbatch.stages.common import add_params_argument, load_section, set_seeds

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="a run name in params `runs`, e.g. hybrid")
    parser.add_argument("--split-dir", required=True, type=Path, help="e.g. data/split (holds <dataset>/train.parquet)")
    parser.add_argument("--out", required=True, type=Path, help="e.g. data/shards/hybrid")
    add_params_argument(parser)


def spec_for(run_name: str, runs: dict[str, Any], shards: dict[str, Any], seed: int) -> ShardSpec | None:
    """The ShardSpec of run `run_name` (`runs`: mixbatch.grid.expand_runs), None for sampling none."""
    if run_name not in runs:
        raise MixbatchError(f"--run {run_name!r} is not in params `runs` or `sweep.alphas`; runs: {', '.join(runs)}")
    run = runs[run_name]
    if run["sampling"] == "none":
        return None
    return ShardSpec(
        sampling=run["sampling"], p_xx=p_xx_for(run["sampling"], run.get("alpha", 0.5)),
        batch_size=shards["batch_size"], num_batches=shards["num_batches"],
        languages=tuple(shards["languages"]), passage=shards["passage"],
        batches_per_shard=shards["batches_per_shard"], seed=seed,
    )


def write_no_shards(run_name: str, out: Path) -> None:
    """The folder of an untrained run: manifests that say there are no batches."""
    empty = {"run": run_name, "sampling": "none", "batches": 0, "rows": 0,
             "batch_types": {"xx": 0, "xy": 0}, "shards": []}
    with atomic_dir(out) as tmp:
        write_json(tmp / "manifest.json", {**empty, "split": "train"})
        write_json(tmp / "valid" / "manifest.json", {**empty, "split": "valid"})
    log.info("%s: sampling none (no training): no batches", run_name)


def run(run_name: str, spec: ShardSpec, datasets: list[str], split_dir: Path, out: Path,
        valid_batches: int | None) -> dict[str, Any]:
    """Build <out> (train shards) and <out>/valid (validation shards); return both manifests."""
    head = {"run": run_name, "sampling": spec.sampling, "datasets": list(datasets)}
    if spec.sampling == "hybrid":
        head["alpha"] = spec.p_xx
    manifests = {}
    with atomic_dir(out) as tmp, tempfile.TemporaryDirectory(prefix=f".{out.name}.text.", dir=tmp.parent) as store:
        for split, folder, batches in (("train", tmp, spec.num_batches), ("valid", tmp / "valid", valid_batches)):
            paths = {name: split_dir / name / f"{split}.parquet" for name in datasets}
            split_spec = ShardSpec(**{**spec.__dict__, "num_batches": batches})
            manifests[split] = build_shards(split_spec, paths, split, folder, Path(store), head)
    for split, m in manifests.items():
        log.info("%s %s: %d batches (%d X-X, %d X-Y), %d rows, %d shards", run_name, split, m["batches"],
                 m["batch_types"]["xx"], m["batch_types"]["xy"], m["rows"], len(m["shards"]))
    return manifests


def main(args: argparse.Namespace) -> None:
    params = load_section(args, "shards", "runs", "sweep", "split")
    set_seeds(params["seed"])
    spec = spec_for(args.run, expand_runs(params), params["shards"], params["seed"])
    if spec is None:
        write_no_shards(args.run, args.out)
        return
    run(args.run, spec, params["split"]["datasets"], args.split_dir, args.out, params["shards"]["valid_batches"])
