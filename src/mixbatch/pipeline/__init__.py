"""The pipeline's shape: the stage table, each stage's code dependencies, and dvc.yaml."""
