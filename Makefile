# Two commands matter: `make demo` and `make test`. Each builds its own virtual environment.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PLUGINS := $(wildcard plugins/escalate-*)

.PHONY: demo test lint typecheck docs unit bench diagram clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("escalate needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.stamp-base: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.stamp-dev: pyproject.toml $(wildcard plugins/*/pyproject.toml) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,webapp]' $(foreach p,$(PLUGINS),-e '$(p)[test]')
	touch $@

demo: $(VENV)/.stamp-base
	rm -rf build/demo && mkdir -p build/demo
	$(BIN)/escalate demo --db-file build/demo/cases.db

lint: $(VENV)/.stamp-dev
	$(BIN)/ruff check .

typecheck: $(VENV)/.stamp-dev
	$(BIN)/mypy --strict src

docs: $(VENV)/.stamp-dev
	$(BIN)/mkdocs build --strict --site-dir build/site

unit: $(VENV)/.stamp-dev
	$(BIN)/python -m pytest tests $(foreach p,$(PLUGINS),$(p)/tests)

test: lint typecheck docs unit

bench: $(VENV)/.stamp-dev
	$(BIN)/python benchmarks/run_all.py

diagram: $(VENV)/.stamp-base
	$(BIN)/escalate diagram > docs/lifecycle.mmd

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .hypothesis
