# mixbatch: hybrid batch training for multilingual retrieval (arXiv 2408.10536).
# Thin on purpose: config + schema validation + rule includes. The work is done by
# `mixbatch <stage>` (src/mixbatch); dvc.yaml runs the same commands.
from snakemake.utils import min_version

min_version("9.0")


configfile: "params.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/shards.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/eval.smk"


rule all:
    input:
        workflow_targets(config),
    default_target: True
