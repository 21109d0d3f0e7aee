# mixbatch: hybrid batch training for multilingual retrieval (arXiv 2408.10536).
# Thin on purpose: config + schema validation + rule includes. The work is done by
# `mixbatch <stage>` (src/mixbatch); dvc.yaml runs the same commands.
from snakemake.utils import min_version

min_version("9.0")


configfile: "params.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"


rule all:
    input:
        all_targets(),
    default_target: True
