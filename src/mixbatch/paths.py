"""Where every pipeline artifact lives: the one place these paths are written.

Placeholders: {dataset} (a data set name), {run} (a run name: "zeroshot" or
"<run>-s<seed>", see mixbatch.grid). The Snakemake rules use these templates as their
output patterns (the placeholders are their wildcards) and dvc.yaml is generated from
them (mixbatch.pipeline), so neither front door retypes a path.
"""

from __future__ import annotations

from mixbatch.data.datasets import HELDOUT_SUFFIX

RAW = "data/raw/{dataset}"
ALIGNED = "data/aligned/{dataset}"
HELDOUT = "data/aligned/{dataset}" + HELDOUT_SUFFIX   # a training set's held-out evaluation tables
SPLIT_ROOT = "data/split"
SPLIT = SPLIT_ROOT + "/{dataset}"
SHARDS = "data/shards/{run}"
WHEEL_CACHE = "data/cache/wheels"
BASE_MODEL = "data/models/base"
MODEL = "data/models/{run}"
CHECKPOINTS = "data/checkpoints/{run}"
EXPORT = "data/export/{run}"

# Under the roots that the report and `mixbatch compare` read (results/train, metrics, plots, details):
TRAIN_LOG_IN = "{run}/log.csv"
METRICS_IN = "{run}/{dataset}.json"
RUN_DATASET = "{run}/{dataset}"

TRAIN_ROOT = "results/train"
TRAIN_LOG = TRAIN_ROOT + "/" + TRAIN_LOG_IN
TRAIN_SUMMARY = TRAIN_ROOT + "/{run}/metrics.json"
EMBEDDINGS = "results/embeddings/" + RUN_DATASET
INDEX = "results/index/" + RUN_DATASET
METRICS_ROOT = "results/metrics"
METRICS = METRICS_ROOT + "/" + METRICS_IN               # one run's headline numbers on one data set
PLOTS_ROOT = "results/plots"
PLOTS = PLOTS_ROOT + "/" + RUN_DATASET               # per-language / per-pair tables (dvc plots)
DETAILS_ROOT = "results/details"
DETAILS = DETAILS_ROOT + "/" + RUN_DATASET             # full metrics, per-question results, figures
REPORT = "results/report.md"
REPORT_ASSETS = "results/report"
HEADLINE = "results/headline.json"                      # every run's headline (dvc exp show, metrics diff)
LOGS = "logs"


def model_dir(run_name: str, trained: bool) -> str:
    """The model folder a run evaluates: its own, or the base model for the zero-shot run."""
    return MODEL.format(run=run_name) if trained else BASE_MODEL
