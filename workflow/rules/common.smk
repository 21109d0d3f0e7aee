# Params validation and the helpers that tie each rule to the stage table. Logic lives in
# src/mixbatch; the rules only name their stage and output patterns (mixbatch.paths).
import re

from mixbatch import paths
from mixbatch.config import validate_params
from mixbatch.data.datasets import LAREQA_LANGUAGES, PAIR_SOURCES
from mixbatch.grid import all_runs, source_datasets
from mixbatch.pipeline.code import file_digests
from mixbatch.pipeline.table import REPO_ROOT, STAGES, job_for, jobs, lookup

# Exactly what `mixbatch` reads: params.yaml validated and completed with the schema's
# defaults. The stages read params.yaml themselves, so `--config` does not reach them.
config.update(validate_params(config, "params.yaml"))

ALL_OUTPUTS = [out.path for job in jobs(config) for out in job.outs]


def one_of(names):
    """A wildcard constraint: exactly one of these names."""
    return "|".join(re.escape(n) for n in names)


wildcard_constraints:
    run=one_of(r.name for r in all_runs(config)),
    dataset=one_of(source_datasets(config) + config["grid"]["datasets"]),


def _job(stage, wildcards):
    return job_for(config, stage, **dict(wildcards.items()))


def stage_inputs(stage):
    """The rule's inputs: the data its job reads (code is tracked by `stage_params`)."""
    return lambda wildcards: list(_job(stage, wildcards).deps)


def stage_params(stage):
    """cmd: the job's command; tracked: the params values it reads; code: the sha256 of
    its code files. A change to either reruns the job, as it does in DVC."""
    code = file_digests(STAGES[stage].code(), REPO_ROOT)
    return {
        "cmd": lambda wildcards: _job(stage, wildcards).cmd,
        "tracked": lambda wildcards: {k: lookup(config, k) for k in _job(stage, wildcards).params},
        "code": code,
    }



# Heavy rules (train, encode) use every core they are given (passed as --threads), so
# they run one at a time; the small rules fill the gaps.
HEAVY_THREADS = workflow.cores
