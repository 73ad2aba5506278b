# ganpipe: `make pipeline` builds everything from raw data; `make test` runs the test suite.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)

.PHONY: install pipeline test test-slow test-all bench clean-venv

# The venv is rebuilt when the pinned dependencies change.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

install: $(VENV)/.installed

pipeline: install            ## run the whole DVC pipeline (dvc repro), then each stage's seconds
	@start=$$(date +%s.%N); dvc repro; status=$$?; python -m ganpipe.timings --since $$start; exit $$status

test: install                ## the test suite (fast: tiny real data, a few real training steps)
	python -m pytest -q -rs -m "not slow"

test-slow: install           ## only the slow tests: the whole DAG, DVC remote clones, multi-process distribution
	python -m pytest -q -rs -m slow

test-all: install            ## also the slow tests
	python -m pytest -q -rs

bench: install               ## speed figures: the seed recipes vs ganpipe's trainer (dense GAN, DCGAN), data preparation
	python benchmarks/bench_train.py

clean-venv:
	rm -rf $(VENV)
