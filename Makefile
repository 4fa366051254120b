# The README's commands. Each installs what it needs first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup system-packages lint test test-fast demo bench aarch64-check clean

setup: system-packages $(STAMP)

system-packages:
	@tools/setup/system-packages.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

lint: setup            ## ruff, then mypy (strict on firmware/core and firmware/cc): pyproject.toml
	$(PY) -m ruff check .
	$(PY) -m mypy

test: lint             ## lint, then the whole suite, as CI runs it
	$(PY) -m pytest --durations=25 $(PYTEST_ARGS)
	$(PY) -m pytest -q tests/hil/test_console.py --sim-board sim-frontpanel  # the HIL suite on the MicroPython front panel

test-fast: lint        ## lint, then everything but the slow tests
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

demo: setup            ## the phone on the sim board with its virtual board page (BOARD=sim-40x4: a 40x4 LCD)
	$(PY) -m tools.demo --board $(or $(BOARD),sim)

bench: setup           ## benchmarks: figures printed as tables
	$(PY) -m tools.bench $(BENCH_ARGS)

aarch64-check: setup   ## the phone on aarch64 under emulation (root; ~14 min fresh, ~6 min cached; not in make test)
	$(PY) -m tools.aarch64 all $(AARCH64_ARGS)

clean:
	rm -rf $(VENV) var out .pytest_cache .mypy_cache .ruff_cache
