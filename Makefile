# Two commands do everything on a fresh machine:
#   make demo   creates .venv, installs omnikpi, simulates a retailer and serves the app
#   make test   installs what the tests need, then runs ruff, mypy and the test suites
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test install lint typecheck unit spark system-deps docs bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/omnikpi demo

test: $(STAMP) system-deps lint typecheck unit spark

system-deps:
	@bash scripts/test-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	OMNIKPI_TEST_PREBUILD=1 $(BIN)/pytest -m "not spark and not isolated" -n 2
	$(BIN)/pytest -m isolated

spark: $(STAMP)
	$(BIN)/pytest -m spark

docs: $(STAMP)
	$(BIN)/python -m omnikpi.model.docs docs/data-model.md

bench: $(STAMP) system-deps
	$(BIN)/python bench/simulate.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/kpi_grid.py --scale 0.05
	$(BIN)/python bench/web.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache test-artifacts
