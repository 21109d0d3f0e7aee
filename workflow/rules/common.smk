# Config validation and the small helpers the rules share. Logic lives in src/mixbatch.
import re

from snakemake.utils import validate

from mixbatch.grid import expand_runs, workflow_targets
from mixbatch.pipeline import tracked_params


# Fills the schema's defaults into `config`, exactly as `mixbatch` does for params.yaml.
validate(config, "../schemas/params.schema.yaml")

PARAMS = "params.yaml"
RUNS = list(expand_runs(config))  # params `runs` plus the `sweep.alphas` runs

wildcard_constraints:
    run="|".join(re.escape(r) for r in RUNS),
    dataset="xquad-r|mlqa-r|tatoeba|miracl",


def tracked(stage):
    """A rule param holding the params `stage` reads (mixbatch.pipeline.STAGE_PARAMS), so
    that changing one of them reruns the rule, as it reruns the DVC stage."""
    return lambda wildcards: tracked_params(config, stage, wildcards.get("run"))


# Heavy rules (train, encode) are compute-bound and take several GB: they claim every
# core given to Snakemake, so they run one at a time; the small rules fill the gaps.
HEAVY_THREADS = workflow.cores
