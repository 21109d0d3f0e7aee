# The encoder and fine-tuning: batch shards per trained run (<run>-s<seed>), the base
# model, training, and the publishable export. Checkpoints (data/checkpoints/<run>) are
# deliberately not an output: Snakemake deletes the outputs of a failed job, and the
# checkpoints are what a rerun resumes from (training removes them once it finishes).


rule shards:
    input:
        stage_inputs("shards"),
    output:
        directory(paths.SHARDS),
    log:
        f"{paths.LOGS}/shards/{{run}}.log",
    params:
        **stage_params("shards"),
    shell:
        "{params.cmd} 2> {log}"


rule prepare_model:
    output:
        directory(paths.BASE_MODEL),
    log:
        f"{paths.LOGS}/prepare_model.log",
    benchmark:
        f"{paths.LOGS}/prepare_model.benchmark.tsv"
    resources:
        mem_mb=3000,
    params:
        **stage_params("prepare-model"),
    shell:
        "{params.cmd} 2> {log}"


rule train:
    input:
        stage_inputs("train"),
    output:
        model=directory(paths.MODEL),
        log=paths.TRAIN_LOG,
        summary=paths.TRAIN_SUMMARY,
    log:
        f"{paths.LOGS}/train/{{run}}.log",
    benchmark:
        f"{paths.LOGS}/train/{{run}}.benchmark.tsv"
    threads: HEAVY_THREADS
    resources:
        mem_mb=6000,
        gpu=config["train"]["devices"],  # SLURM: GPUs per training job (train.devices > 1: one process each)
    params:
        **stage_params("train"),
    shell:
        "{params.cmd} --threads {threads} 2> {log}"


rule export:
    input:
        stage_inputs("export"),
    output:
        directory(paths.EXPORT),
    log:
        f"{paths.LOGS}/export/{{run}}.log",
    params:
        **stage_params("export"),
    shell:
        "{params.cmd} 2> {log}"
