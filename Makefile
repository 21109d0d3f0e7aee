# The two commands of the README. Each builds the virtual environment from nothing
# (python3 -m venv + pinned pip install) when it is missing or pyproject.toml changed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 8

.PHONY: run test install clean-venv

run: $(STAMP)  ## the default pipeline end to end, then DVC records what it built
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --cores $(CORES) all
	# Same stages, same commands: let dvc.lock describe these outputs, so `dvc repro`,
	# `dvc exp run` and `dvc push` start from them instead of recomputing everything.
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc commit --force --quiet
	# dvc commit rewrites the outputs (new modification times): tell Snakemake they are current.
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --cores $(CORES) --touch --quiet all

test: $(STAMP)  ## the test suite (what CI runs)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: the CPU build of 2.13.0; an open range pulls a CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

clean-venv:
	rm -rf $(VENV)
