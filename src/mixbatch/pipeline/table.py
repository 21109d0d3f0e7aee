"""The one table of stages, for both front doors.

Each stage names its `mixbatch` subcommand, which jobs the grid gives it, and per job its
command, data inputs, outputs and the params it reads, exactly: settings that cannot
change an output (mirrors, timeouts, thread counts, block sizes) are not dependencies,
and a data set's own settings are dependencies of that data set's jobs only. Its code
dependencies are its stage module's import closure (mixbatch.pipeline.code).

dvc.yaml is generated from `jobs()` (mixbatch.pipeline.dvcfile); the Snakemake rules take
their inputs, commands and tracked params from `job_for()` and their output patterns
from mixbatch.paths, and tests/test_front_doors.py checks that both plan the same jobs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from mixbatch import grid, paths
from mixbatch.data import datasets
from mixbatch.errors import MixbatchError
from mixbatch.pipeline.code import code_files

REPO_ROOT = Path(__file__).resolve().parents[3]

# What shapes an embedding, a trained model or a model card (the `model` section but its name).
ENCODER_PARAMS = ("model.pooling", "model.query_prefix", "model.passage_prefix",
                  "model.query_max_length", "model.passage_max_length")
TRAIN_PARAMS = tuple(f"train.{k}" for k in (
    "precision", "lr", "weight_decay", "warmup_ratio", "max_grad_norm", "temperature", "dropout",
    "max_steps", "freeze_word_embeddings", "eval_every", "max_valid_batches", "patience",
    "grad_cache_chunk_size", "length_bucket_size", "devices"))
ENCODE_PARAMS = {  # per data set kind, besides the encoder and encode.{precision,batch_size,dtype}
    "lareqa": ("encode.candidate_text",),
    "tatoeba": ("encode.tatoeba_languages",),
    "miracl": ("encode.miracl_corpus", "encode.miracl_max_passages"),
}
SCORE_PARAMS = {
    "lareqa": ("score.map_k", "score.recall_ks", "score.mix_k"),
    "tatoeba": ("score.tatoeba_headline",),
    "miracl": ("score.miracl_languages", "score.miracl_depth"),
}


@dataclass(frozen=True)
class Out:
    path: str
    kind: str = "out"       # out (DVC-cached) | metrics | git (small, kept in git: DVC cache false)


@dataclass(frozen=True)
class Job:
    """One run of one stage: what DVC calls a stage and Snakemake a job."""

    stage: str
    key: tuple[str, ...]
    cmd: str
    deps: tuple[str, ...]
    outs: tuple[Out, ...]
    params: tuple[str, ...]
    heavy: bool = False      # takes every core it is given: Snakemake passes --threads

    @property
    def name(self) -> str:
        return "/".join((self.stage,) + self.key)


@dataclass(frozen=True)
class Stage:
    name: str                                   # the subcommand
    module: str                                 # its stage module (code dependency root)
    jobs: Callable[[dict], Iterator[Job]]
    extra_code: tuple[str, ...] = field(default=())   # non-Python files it reads

    def code(self) -> list[str]:
        return sorted(code_files(self.module, REPO_ROOT) + list(self.extra_code))


def _cmd(*parts: str) -> str:
    return " ".join(["mixbatch", *parts, "--params", "params.yaml"])


MMARCO_FETCHED = ("mmarco.languages", "mmarco.translation")


def _download(params: dict) -> Iterator[Job]:
    for d in grid.source_datasets(params):
        out = paths.RAW.format(dataset=d)
        keys = MMARCO_FETCHED if d in datasets.PAIR_SOURCES else ()
        yield Job("download", (d,), _cmd("download", "--dataset", d, "--out", out), (), (Out(out),), keys)


def _align(params: dict) -> Iterator[Job]:
    for d in grid.source_datasets(params):
        if d not in datasets.PAIR_SOURCES:
            raw, out = paths.RAW.format(dataset=d), paths.ALIGNED.format(dataset=d)
            yield Job("align", (d,), _cmd("align", "--dataset", d, "--raw", raw, "--out", out), (raw,), (Out(out),), ())


def _split(params: dict) -> Iterator[Job]:
    keys = ("seed", "split.valid_fraction")
    for d in params["split"]["datasets"]:
        out = paths.SPLIT.format(dataset=d)
        if d in datasets.PAIR_SOURCES:  # converted from the fetched files; no held-out tables
            raw = paths.RAW.format(dataset=d)
            yield Job("split", (d,), _cmd("split", "--dataset", d, "--raw", raw, "--out", out), (raw,), (Out(out),),
                      keys + MMARCO_FETCHED + ("mmarco.max_queries",))
            continue
        aligned, heldout = paths.ALIGNED.format(dataset=d), paths.HELDOUT.format(dataset=d)
        cmd = _cmd("split", "--dataset", d, "--aligned", aligned, "--out", out, "--heldout", heldout)
        yield Job("split", (d,), cmd, (aligned,), (Out(out), Out(heldout)), keys)


def _shards(params: dict) -> Iterator[Job]:
    splits = tuple(paths.SPLIT.format(dataset=d) for d in params["split"]["datasets"])
    for run in grid.trained_runs(params):
        out = paths.SHARDS.format(run=run.name)
        cmd = _cmd("shards", "--run", run.config, "--seed", str(run.seed), "--split-dir", paths.SPLIT_ROOT, "--out", out)
        yield Job("shards", (run.name,), cmd, splits, (Out(out),),
                  ("shards", f"grid.runs.{run.config}", "split.datasets"))


def _prepare_model(params: dict) -> Iterator[Job]:
    cmd = _cmd("prepare-model", "--out", paths.BASE_MODEL, "--cache-dir", paths.WHEEL_CACHE)
    yield Job("prepare-model", (), cmd, (), (Out(paths.BASE_MODEL),), ("model.name",) + ENCODER_PARAMS)


def _train(params: dict) -> Iterator[Job]:
    for run in grid.trained_runs(params):
        f = {"run": run.name}
        shards, model = paths.SHARDS.format(**f), paths.MODEL.format(**f)
        log, summary = paths.TRAIN_LOG.format(**f), paths.TRAIN_SUMMARY.format(**f)
        cmd = _cmd("train", "--seed", str(run.seed), "--base-model", paths.BASE_MODEL, "--shards", shards,
                   "--out", model, "--log", log, "--metrics", summary,
                   "--checkpoints", paths.CHECKPOINTS.format(**f))
        outs = (Out(model), Out(log, "git"), Out(summary, "git"))
        yield Job("train", (run.name,), cmd, (paths.BASE_MODEL, shards), outs, ENCODER_PARAMS + TRAIN_PARAMS, heavy=True)


def _evaluated(params: dict) -> Iterator[tuple[grid.Run, str, dict]]:
    for run in grid.all_runs(params):
        for d in params["grid"]["datasets"]:
            yield run, d, {"run": run.name, "dataset": d}


def _encode(params: dict) -> Iterator[Job]:
    for run, d, f in _evaluated(params):
        aligned, model, out = paths.ALIGNED.format(**f), paths.model_dir(run.name, run.trained), paths.EMBEDDINGS.format(**f)
        cmd = _cmd("encode", "--dataset", d, "--aligned", aligned, "--model", model, "--out", out)
        keys = ENCODER_PARAMS + ("encode.precision", "encode.batch_size", "encode.dtype") + ENCODE_PARAMS[datasets.kind(d)]
        yield Job("encode", (run.name, d), cmd, (aligned, model), (Out(out),), keys, heavy=True)


def _index(params: dict) -> Iterator[Job]:
    for _, _, f in _evaluated(params):
        embeddings, out = paths.EMBEDDINGS.format(**f), paths.INDEX.format(**f)
        yield Job("index", (f["run"], f["dataset"]), _cmd("index", "--embeddings", embeddings, "--out", out),
                  (embeddings,), (Out(out),), ("seed", "index.factory", "index.hnsw_ef_search", "index.ivf_nprobe"))


def _score(params: dict) -> Iterator[Job]:
    for _, d, f in _evaluated(params):
        aligned, embeddings = paths.ALIGNED.format(**f), paths.EMBEDDINGS.format(**f)
        deps, args = [aligned, embeddings], ["--dataset", d, "--aligned", aligned, "--embeddings", embeddings]
        if datasets.kind(d) == "miracl":  # MIRACL is searched through the built index
            deps.append(paths.INDEX.format(**f))
            args += ["--index", deps[-1]]
        metrics, plots, details = (p.format(**f) for p in (paths.METRICS, paths.PLOTS, paths.DETAILS))
        args += ["--metrics", metrics, "--plots", plots, "--details", details]
        outs = (Out(metrics, "git"), Out(plots, "git"), Out(details))
        yield Job("score", (f["run"], d), _cmd("score", *args), tuple(deps), outs, SCORE_PARAMS[datasets.kind(d)])


def _report(params: dict) -> Iterator[Job]:
    deps = [paths.TRAIN_LOG.format(run=r.name) for r in grid.trained_runs(params)]
    for _, _, f in _evaluated(params):
        deps += [paths.METRICS.format(**f), paths.PLOTS.format(**f), paths.DETAILS.format(**f)]
    cmd = _cmd("report", "--metrics", paths.METRICS_ROOT, "--plots", paths.PLOTS_ROOT, "--details", paths.DETAILS_ROOT,
               "--train", paths.TRAIN_ROOT, "--out", paths.REPORT, "--assets", paths.REPORT_ASSETS,
               "--headline", paths.HEADLINE)
    outs = (Out(paths.REPORT, "git"), Out(paths.REPORT_ASSETS, "git"), Out(paths.HEADLINE, "metrics"))
    keys = ("seed", "grid", "shards.languages", "score.mix_k", "score.tatoeba_headline", "report")
    yield Job("report", (), cmd, tuple(deps), outs, keys)


def _export(params: dict) -> Iterator[Job]:
    for run in grid.trained_runs(params):
        model, out = paths.MODEL.format(run=run.name), paths.EXPORT.format(run=run.name)
        cmd = _cmd("export", "--run", run.name, "--model", model, "--report", paths.REPORT_ASSETS, "--out", out)
        keys = ("model.name",) + ENCODER_PARAMS + TRAIN_PARAMS + (f"grid.runs.{run.config}", "shards", "split.datasets")
        yield Job("export", (run.name,), cmd, (model, paths.REPORT_ASSETS), (Out(out),), keys)


STAGES: dict[str, Stage] = {s.name: s for s in (
    Stage("download", "mixbatch.stages.download", _download, ("src/mixbatch/data/manifest.yaml",)),
    Stage("align", "mixbatch.stages.align", _align),
    Stage("split", "mixbatch.stages.split", _split),
    Stage("shards", "mixbatch.stages.shards", _shards),
    Stage("prepare-model", "mixbatch.stages.prepare_model", _prepare_model),
    Stage("train", "mixbatch.stages.train", _train),
    Stage("encode", "mixbatch.stages.encode", _encode),
    Stage("index", "mixbatch.stages.index", _index),
    Stage("score", "mixbatch.stages.score", _score),
    Stage("report", "mixbatch.stages.report", _report),
    Stage("export", "mixbatch.stages.export", _export),
)}


def jobs(params: dict) -> list[Job]:
    """Every job of the grid, stage by stage in pipeline order."""
    return [job for stage in STAGES.values() for job in stage.jobs(params)]


def job_for(params: dict, stage: str, **wildcards: str) -> Job:
    """The job of `stage` whose key is the wildcard values (run, dataset; in that order)."""
    key = tuple(wildcards[k] for k in ("run", "dataset") if k in wildcards)
    for job in STAGES[stage].jobs(params):
        if job.key == key:
            return job
    raise MixbatchError(f"no {stage} job for {'/'.join(key)!r} in the grid of params.yaml")


def lookup(params: dict, dotted: str) -> Any:
    """The value of a dotted params key (e.g. "grid.runs.hybrid")."""
    value: Any = params
    for key in dotted.split("."):
        value = value[key]
    return value
