# Evaluation: encode -> index, score, for every run x evaluation set (params grid.datasets);
# then the report over all of them.


rule encode:
    input:
        stage_inputs("encode"),
    output:
        directory(paths.EMBEDDINGS),
    log:
        f"{paths.LOGS}/encode/{{run}}/{{dataset}}.log",
    benchmark:
        f"{paths.LOGS}/encode/{{run}}/{{dataset}}.benchmark.tsv"
    threads: HEAVY_THREADS
    resources:
        mem_mb=4000,
        gpu=1,
    params:
        **stage_params("encode"),
    shell:
        "{params.cmd} --threads {threads} 2> {log}"


rule index:
    input:
        stage_inputs("index"),
    output:
        directory(paths.INDEX),
    log:
        f"{paths.LOGS}/index/{{run}}/{{dataset}}.log",
    resources:
        mem_mb=4000,
    params:
        **stage_params("index"),
    shell:
        "{params.cmd} 2> {log}"


rule score:
    input:
        stage_inputs("score"),
    output:
        metrics=paths.METRICS,
        plots=directory(paths.PLOTS),
        details=directory(paths.DETAILS),
    log:
        f"{paths.LOGS}/score/{{run}}/{{dataset}}.log",
    benchmark:
        f"{paths.LOGS}/score/{{run}}/{{dataset}}.benchmark.tsv"
    resources:
        mem_mb=4000,
    params:
        **stage_params("score"),
    shell:
        "{params.cmd} 2> {log}"


rule report:
    input:
        stage_inputs("report"),
    output:
        report=paths.REPORT,
        assets=directory(paths.REPORT_ASSETS),
        headline=paths.HEADLINE,
    log:
        f"{paths.LOGS}/report.log",
    params:
        **stage_params("report"),
    shell:
        "{params.cmd} 2> {log}"
