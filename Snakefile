# mixbatch: hybrid batch training for multilingual retrieval (arXiv 2408.10536).
# Thin on purpose: params validation + rule includes. The work is done by `mixbatch
# <stage>` (src/mixbatch); each rule's inputs, command and tracked params come from the
# stage table (src/mixbatch/pipeline/table.py), from which dvc.yaml is generated too.
from snakemake.utils import min_version

min_version("9.0")


configfile: "params.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/eval.smk"


rule all:
    input:
        ALL_OUTPUTS,
    default_target: True
