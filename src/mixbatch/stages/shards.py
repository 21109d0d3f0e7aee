"""Stage shards: the training and validation batches of one trained run, as Parquet shards.

In:  <split-dir>/<dataset>/{train,valid}.parquet for each training data set
     (params `split.datasets`; from `mixbatch split`); section `shards`, the run's entry
     in `grid.runs` (sampling xx | xy | hybrid | random | mixed; alpha for hybrid) and
     --seed (one of `grid.seeds`: the run <run>-s<seed> draws its batches with it).
Out: <out>/shard-00000.parquet ... + <out>/manifest.json (training batches) and the same
     under <out>/valid/ (validation batches), written atomically as one folder.
     Columns and manifest: mixbatch.batching.writer; samplings: mixbatch.batching.sampler.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path
from typing import Any

from mixbatch.batching import ShardSpec, batch_type_probs, build_shards
from mixbatch.errors import MixbatchError
from mixbatch.io import atomic_dir
from mixbatch.stages.common import add_params_argument, load_section, set_seeds

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="a run name in params grid.runs, e.g. hybrid")
    parser.add_argument("--seed", required=True, type=int, help="the run's seed (params grid.seeds)")
    parser.add_argument("--split-dir", required=True, type=Path, help="e.g. data/split (holds <dataset>/train.parquet)")
    parser.add_argument("--out", required=True, type=Path, help="e.g. data/shards/hybrid-s13")
    add_params_argument(parser)


def spec_for(run_name: str, runs: dict[str, Any], shards: dict[str, Any], seed: int) -> ShardSpec:
    """The ShardSpec of run `run_name` (params grid.runs) at `seed`."""
    if run_name not in runs:
        raise MixbatchError(f"--run {run_name!r} is not in params grid.runs; runs: {', '.join(runs)}")
    run = runs[run_name]
    return ShardSpec(
        sampling=run["sampling"], batch_type_probs=batch_type_probs(run["sampling"], run.get("alpha", 0.5)),
        batch_size=shards["batch_size"], num_batches=shards["num_batches"],
        languages=tuple(shards["languages"]), passage=shards["passage"],
        batches_per_shard=shards["batches_per_shard"], seed=seed,
    )


def run(run_name: str, spec: ShardSpec, datasets: list[str], split_dir: Path, out: Path,
        valid_batches: int | None) -> dict[str, Any]:
    """Build <out> (train shards) and <out>/valid (validation shards); return both manifests."""
    head = {"run": run_name, "seed": spec.seed, "sampling": spec.sampling, "datasets": list(datasets)}
    if spec.sampling == "hybrid":
        head["alpha"] = spec.batch_type_probs["xx"]
    manifests = {}
    with atomic_dir(out) as tmp, tempfile.TemporaryDirectory(prefix=f".{out.name}.text.", dir=tmp.parent) as store:
        for split, folder, batches in (("train", tmp, spec.num_batches), ("valid", tmp / "valid", valid_batches)):
            paths = {name: split_dir / name / f"{split}.parquet" for name in datasets}
            split_spec = ShardSpec(**{**spec.__dict__, "num_batches": batches})
            manifests[split] = build_shards(split_spec, paths, split, folder, Path(store), head)
    for split, m in manifests.items():
        types = ", ".join(f"{n} {t}" for t, n in m["batch_types"].items())
        log.info("%s %s: %d batches (%s), %d rows, %d shards", run_name, split, m["batches"], types, m["rows"],
                 len(m["shards"]))
    return manifests


def main(args: argparse.Namespace) -> None:
    params = load_section(args, "shards", "grid", "split")
    set_seeds(args.seed)
    spec = spec_for(args.run, params["grid"]["runs"], params["shards"], args.seed)
    run(args.run, spec, params["split"]["datasets"], args.split_dir, args.out, params["shards"]["valid_batches"])
