# The README's commands. `make demo` and `make test` work on a fresh clone
# with only Python 3.11+, pip and make: the first target creates .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit integration e2e sql-test sync-sql soak clean screenshot

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

demo: $(STAMP)
	$(BIN)/credreports demo

test: lint typecheck unit integration e2e sql-test test-infra

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

# Two test processes (pytest-xdist), each with its own emulator: these tiers
# mostly wait (visibility timeouts, retries, containers starting).
XDIST ?= -n 2
integration: $(STAMP)
	$(BIN)/pytest -q $(XDIST) tests/integration

e2e: $(STAMP)
	$(BIN)/pytest -q $(XDIST) tests/e2e

# The Athena SQL of sql/ on DuckDB against the Python checks, its lint, and
# the template's copy of it (README, "Query with Athena").
sql-test: $(STAMP)
	$(BIN)/pytest -q tests/sql

# Writes the views and named queries of sql/ into template.yaml.
sync-sql: $(STAMP)
	$(BIN)/python -m tools.sync_sql

# The README's picture of what a run ends with: the demo's report, in headless
# Chromium (apt-get install chromium).
SCREENSHOT := docs/run-report.png
screenshot: $(STAMP)
	rm -rf build/screenshot
	$(BIN)/credreports demo --accounts 10 --out build/screenshot > build/screenshot.log
	$(BIN)/python -m tests.support.browser \
		"$$(ls build/screenshot/runs/date=*/run=*/report.html)" $(SCREENSHOT) 960,1180

clean:
	rm -rf $(VENV) build .aws-sam .pytest_cache .mypy_cache .ruff_cache

soak: $(STAMP)
	$(BIN)/python -m tests.soak --accounts 2000

# Kept last so that neither changes the default goal.
include bench.mk
include infra.mk
