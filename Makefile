# Two entry points: `make run` (demo library + web app) and `make test` (whole test suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,bench,audio,get,milvus,ray,subsonic,mpd]"
	rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)
	$(BIN)/musicrec info >/dev/null 2>&1 || $(BIN)/musicrec demo
	$(BIN)/musicrec app

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --rows 1200000
