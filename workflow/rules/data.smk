# Data stages: download (mirror first, sha256-verified) -> align -> split.


rule download:
    output:
        directory("data/raw/{dataset}"),
    log:
        "logs/download/{dataset}.log",
    params:
        tracked=tracked("download"),
    shell:
        "mixbatch download --dataset {wildcards.dataset} --out {output} --params params.yaml 2> {log}"


rule align:
    input:
        rules.download.output,
    output:
        tables=directory("data/aligned/{dataset}"),
    log:
        "logs/align/{dataset}.log",
    params:
        tracked=tracked("align"),
    shell:
        "mixbatch align --dataset {wildcards.dataset} --raw {input} --out {output.tables} --params params.yaml 2> {log}"


rule split:
    input:
        rules.align.output.tables,
    output:
        tables=directory("data/split/{dataset}"),
    log:
        "logs/split/{dataset}.log",
    wildcard_constraints:
        dataset="xquad-r|mlqa-r",
    params:
        tracked=tracked("split"),
    shell:
        "mixbatch split --dataset {wildcards.dataset} --aligned {input} --out {output.tables} --params params.yaml 2> {log}"
