# The encoder and fine-tuning: prepare_model builds the base encoder from params
# `model.name`; train fine-tunes it on one run's shards (a zero-shot run links the base).
# Checkpoints (data/checkpoints/{run}) are deliberately not an output: Snakemake deletes
# the outputs of a failed job, and the checkpoints are what a rerun resumes from.


rule prepare_model:
    output:
        directory("data/models/base"),
    log:
        "logs/prepare_model.log",
    benchmark:
        "logs/prepare_model.benchmark.tsv"
    resources:
        mem_mb=3000,
    params:
        tracked=tracked("prepare-model"),
    shell:
        "mixbatch prepare-model --out {output} --cache-dir data/cache/wheels --params params.yaml 2> {log}"


rule train:
    input:
        base=rules.prepare_model.output,
        shards=rules.shards.output,
    output:
        model=directory("data/models/{run}"),
        log="results/train/{run}/log.csv",
        metrics="results/train/{run}/metrics.json",
    log:
        "logs/train/{run}.log",
    benchmark:
        "logs/train/{run}.benchmark.tsv"
    threads: HEAVY_THREADS
    resources:
        mem_mb=8000,
        gpu=config["train"]["devices"],  # SLURM: GPUs per training job (train.devices > 1: one process each)
    params:
        tracked=tracked("train"),
    shell:
        "mixbatch train --base-model {input.base} --shards {input.shards} --out {output.model}"
        " --log {output.log} --metrics {output.metrics} --checkpoints data/checkpoints/{wildcards.run}"
        " --params params.yaml 2> {log}"
