# Meterline: `make serve` (SQLite, no other service) and `make test` (whole suite).
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test lint bench install install-dev clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"

# requirements-lock.txt pins every version the suite was last run with (regenerate with
# `.venv/bin/pip freeze --exclude-editable > requirements-lock.txt`); pyproject keeps ranges.
# A stamp per install: skipped while pyproject.toml and requirements-lock.txt are unchanged.
STAMP := $(VENV)/.installed
STAMP_DEV := $(VENV)/.installed-dev

$(STAMP): pyproject.toml requirements-lock.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -c requirements-lock.txt -e .
	touch $@

$(STAMP_DEV): pyproject.toml requirements-lock.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -c requirements-lock.txt -e ".[dev]"
	touch $@ $(STAMP)

install: $(STAMP)

install-dev: $(STAMP_DEV)

serve: install
	$(BIN)/meterline serve --host $(HOST) --port $(PORT)

test: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: install-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
