# Data stages: download (mirror first, sha256-verified) -> align -> split.


rule download:
    output:
        directory(paths.RAW),
    log:
        f"{paths.LOGS}/download/{{dataset}}.log",
    params:
        **stage_params("download"),
    shell:
        "{params.cmd} 2> {log}"


rule align:
    input:
        stage_inputs("align"),
    output:
        directory(paths.ALIGNED),
    log:
        f"{paths.LOGS}/align/{{dataset}}.log",
    params:
        **stage_params("align"),
    shell:
        "{params.cmd} 2> {log}"


rule split:
    input:
        stage_inputs("split"),
    output:
        split=directory(paths.SPLIT),
        heldout=directory(paths.HELDOUT),
    log:
        f"{paths.LOGS}/split/{{dataset}}.log",
    wildcard_constraints:
        dataset=one_of(LAREQA_LANGUAGES),
    params:
        **stage_params("split"),
    shell:
        "{params.cmd} 2> {log}"


# Training sets fetched as pairs (mMARCO): split straight from the fetched files.
rule split_pairs:
    input:
        stage_inputs("split"),
    output:
        directory(paths.SPLIT),
    log:
        f"{paths.LOGS}/split/{{dataset}}.log",
    wildcard_constraints:
        dataset=one_of(PAIR_SOURCES),
    params:
        **stage_params("split"),
    shell:
        "{params.cmd} 2> {log}"
