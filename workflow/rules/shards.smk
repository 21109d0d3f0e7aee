# Batch shards: one folder of training + validation shards per run (params `runs` and
# `sweep.alphas`); a run with sampling none (zero-shot) gets a folder without batches.


rule shards:
    input:
        expand(rules.split.output.tables, dataset=config["split"]["datasets"]),
    output:
        directory("data/shards/{run}"),
    log:
        "logs/shards/{run}.log",
    params:
        tracked=tracked("shards"),
    shell:
        "mixbatch shards --run {wildcards.run} --split-dir data/split --out {output} --params params.yaml 2> {log}"
