# The two commands of the README. Each builds the virtual environment from nothing
# (python3 -m venv + pinned pip install) when it is missing or pyproject.toml changed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= $(shell nproc)
export PATH := $(CURDIR)/$(BIN):$(PATH)
SNAKEMAKE := $(BIN)/snakemake --profile workflow/profiles/local --cores $(CORES)

.PHONY: run test install clean-venv

run: $(STAMP)  ## the default pipeline end to end; afterwards both front doors agree it is current
	$(BIN)/mixbatch pipeline --check
	$(SNAKEMAKE) all
	@# Snakemake tracks code (sha256 of each stage's modules), params and inputs: when it
	@# plans nothing, every output follows the current code, so DVC may record them.
	$(SNAKEMAKE) --dry-run --quiet all | grep -q "Nothing to be done" || \
		{ echo "snakemake still plans jobs after the run; not recording outputs in dvc.lock" >&2; exit 1; }
	$(BIN)/dvc commit --force --quiet
	@# commit links an output only when its bytes are new to the cache; an exported model's
	@# files are already there (the trained model's): relink so both share one copy.
	$(BIN)/dvc checkout --relink --quiet
	@# dvc commit links the outputs to its cache (new ctimes): tell Snakemake they are current.
	$(SNAKEMAKE) --touch --quiet all
	$(BIN)/dvc status --quiet || { $(BIN)/dvc status; echo "dvc status is not clean" >&2; exit 1; }
	@echo
	@echo "Report:  results/report.md (figures and tables in results/report/; headline numbers in results/headline.json)"
	@echo "Models:  data/models/<run>-s<seed>/ (Hugging Face + sentence-transformers folders); publishable, with model cards: data/export/"
	@echo "Search:  .venv/bin/mixbatch search --run hybrid-s13 --dataset xquad-r \"your question\""

test: $(STAMP)  ## every test, fast and slow (what CI runs); `.venv/bin/pytest` alone runs the fast suite
	$(BIN)/pytest -m "slow or not slow"

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
