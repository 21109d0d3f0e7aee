# Batch shards (issue 3): one folder of training + validation shards per training run.
# Runs come from params `runs` and `sweep.alphas` (mixbatch.grid); a run with sampling none
# (the untrained model) gets a folder without batches, so every run has the same stages.
import re

from mixbatch.grid import expand_runs


rule shards:
    input:
        expand(rules.split.output.tables, dataset=config["split"]["datasets"]),
    output:
        directory("data/shards/{run}"),
    log:
        "logs/shards/{run}.log",
    wildcard_constraints:
        run="|".join(re.escape(name) for name in expand_runs(config)),
    params:
        params=PARAMS,
        split_dir=lambda wildcards, input: os.path.dirname(input[0]),
        # rerun when the run's sampling, the shards section, the data sets or the seed change
        run=lambda wildcards: expand_runs(config)[wildcards.run],
        shards=config["shards"],
        datasets=config["split"]["datasets"],
        seed=config["seed"],
    shell:
        "mixbatch shards --run {wildcards.run} --split-dir {params.split_dir} --out {output} --params {params.params} 2> {log}"
