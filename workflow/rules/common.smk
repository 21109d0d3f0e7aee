# Config validation and the small helpers the rules share. Logic lives in src/mixbatch.
from snakemake.utils import validate


# Fills the schema's defaults into `config`, exactly as `mixbatch` does for params.yaml.
validate(config, "../schemas/params.schema.yaml")

PARAMS = "params.yaml"


def all_targets():
    """Everything the default run produces (grows as stages are added)."""
    return expand("data/aligned/{dataset}/alignment.json", dataset=config["data"]["datasets"]) + expand(
        "data/split/{dataset}/split.json", dataset=config["split"]["datasets"]
    )
