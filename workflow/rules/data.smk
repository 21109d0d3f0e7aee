# Data stages: download (mirror first, sha256-verified) -> align -> split.


rule download:
    output:
        directory("data/raw/{dataset}"),
    log:
        "logs/download/{dataset}.log",
    wildcard_constraints:
        dataset="xquad-r|mlqa-r|tatoeba|miracl",
    params:
        params=PARAMS,
    shell:
        "mixbatch download --dataset {wildcards.dataset} --out {output} --params {params.params} 2> {log}"


rule align:
    input:
        rules.download.output,
    output:
        tables=directory("data/aligned/{dataset}"),
        report="data/aligned/{dataset}/alignment.json",
    log:
        "logs/align/{dataset}.log",
    params:
        params=PARAMS,
    shell:
        "mixbatch align --dataset {wildcards.dataset} --raw {input} --out {output.tables} --params {params.params} 2> {log}"


rule split:
    input:
        rules.align.output.tables,
    output:
        tables=directory("data/split/{dataset}"),
        report="data/split/{dataset}/split.json",
    log:
        "logs/split/{dataset}.log",
    wildcard_constraints:
        dataset="xquad-r|mlqa-r",
    params:
        params=PARAMS,
    shell:
        "mixbatch split --dataset {wildcards.dataset} --aligned {input} --out {output.tables} --params {params.params} 2> {log}"
