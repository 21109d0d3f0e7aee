# Evaluation: encode -> index, score, for every run x evaluation data set
# (params `encode.datasets`); then the report over all of them.


rule encode:
    input:
        tables=rules.align.output.tables,
        model=rules.train.output.model,
    output:
        directory("results/embeddings/{run}/{dataset}"),
    log:
        "logs/encode/{run}/{dataset}.log",
    benchmark:
        "logs/encode/{run}/{dataset}.benchmark.tsv"
    threads: HEAVY_THREADS
    resources:
        mem_mb=6000,
        gpu=1,
    params:
        tracked=tracked("encode"),
    shell:
        "mixbatch encode --dataset {wildcards.dataset} --aligned {input.tables} --model {input.model}"
        " --out {output} --params params.yaml 2> {log}"


rule index:
    input:
        rules.encode.output,
    output:
        directory("results/index/{run}/{dataset}"),
    log:
        "logs/index/{run}/{dataset}.log",
    resources:
        mem_mb=4000,
    params:
        tracked=tracked("index"),
    shell:
        "mixbatch index --embeddings {input} --out {output} --params params.yaml 2> {log}"


rule score:
    input:
        tables=rules.align.output.tables,
        embeddings=rules.encode.output,
    output:
        metrics="results/metrics/{run}/{dataset}.json",
        plots=directory("results/plots/{run}/{dataset}"),
    log:
        "logs/score/{run}/{dataset}.log",
    benchmark:
        "logs/score/{run}/{dataset}.benchmark.tsv"
    resources:
        mem_mb=4000,
    params:
        tracked=tracked("score"),
    shell:
        "mixbatch score --dataset {wildcards.dataset} --aligned {input.tables} --embeddings {input.embeddings}"
        " --metrics {output.metrics} --plots {output.plots} --params params.yaml 2> {log}"


rule report:
    input:
        expand(rules.score.output.metrics, run=RUNS, dataset=config["encode"]["datasets"]),
        expand(rules.train.output.log, run=RUNS),
    output:
        report="results/report.md",
        assets=directory("results/report"),
    log:
        "logs/report.log",
    params:
        tracked=tracked("report"),
    shell:
        "mixbatch report --metrics results/metrics --train results/train --out {output.report}"
        " --assets {output.assets} --params params.yaml 2> {log}"
