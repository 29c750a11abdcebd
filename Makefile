# Imagora: two commands set everything up on a fresh machine.
#   make run    virtualenv + install + sample data + web server on http://127.0.0.1:8000
#   make test   virtualenv + install (with test extras) + ruff + pytest
# Other targets: lint, bench, clean, venv. See README.md.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check
PACKAGES := catalog harvesters ontologies exporters compute_bridge
LINT_PATHS := $(PACKAGES) tests $(wildcard benchmarks)

# pip extras each target needs; `make run` installs less than `make test`.
EXTRAS ?= postgres,ckan
test lint bench: EXTRAS := test,postgres

.DEFAULT_GOAL := help
.PHONY: help run test lint bench clean venv

help:
	@echo "make run    set up and serve the catalogue with sample data on http://$(HOST):$(PORT)"
	@echo "make test   set up, lint (ruff) and run the test suite (PYTEST_ARGS=... passes through)"
	@echo "make lint   ruff check + ruff format --check"
	@echo "make bench  run the search, harvest, HTTP and relaxometry-fit benchmarks at small default sizes"
	@echo "make clean  remove the virtualenv and caches (keeps imagora-data/)"

# The virtualenv is (re)installed when it is missing, when pyproject.toml is newer than the
# stamp, or when the stamp does not list the extras this target needs. The stamp records
# every extras set installed since pyproject.toml last changed.
venv:
	@test -x $(BIN)/python || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@if [ ! -f $(STAMP) ] || [ pyproject.toml -nt $(STAMP) ] \
	    || ! grep -qxF '$(EXTRAS)' $(STAMP); then \
	  echo "installing imagora[$(EXTRAS)] into $(VENV) (quietly; this takes a few minutes the first time)"; \
	  $(PIP_INSTALL) -e '.[$(EXTRAS)]' || exit 1; \
	  if [ -f $(STAMP) ] && [ ! pyproject.toml -nt $(STAMP) ]; then \
	    echo '$(EXTRAS)' >> $(STAMP); else echo '$(EXTRAS)' > $(STAMP); fi; \
	fi

run: venv
	$(BIN)/imagora demo
	$(BIN)/imagora serve --host $(HOST) --port $(PORT)

# Lint, then the tests, whatever lint said (both are reported; either failing fails).
# pytest exit code 5 means "no tests collected": a broken suite, not a pass.
test: venv
	@lint=0; $(BIN)/ruff check --output-format concise $(LINT_PATHS) || lint=$$?; \
	rc=0; $(BIN)/pytest -q -p no:cacheprovider $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "ERROR: pytest collected no tests (exit code 5)" >&2; fi; \
	if [ $$lint -ne 0 ]; then echo "ERROR: ruff check found problems (listed above)" >&2; fi; \
	if [ $$rc -eq 0 ] && [ $$lint -ne 0 ]; then rc=$$lint; fi; \
	exit $$rc

lint: venv
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

bench: venv
	cd benchmarks && ../$(BIN)/python search_bench.py
	cd benchmarks && ../$(BIN)/python harvest_bench.py dicom
	cd benchmarks && ../$(BIN)/python harvest_bench.py dicom --end-to-end
	cd benchmarks && ../$(BIN)/python harvest_bench.py bids
	cd benchmarks && ../$(BIN)/python http_bench.py
	cd benchmarks && ../$(BIN)/python remote_harvest_bench.py --acquisitions 1000
	cd benchmarks && ../$(BIN)/python index_bench.py --records 10000
	cd benchmarks && ../$(BIN)/python oai_bench.py
	cd benchmarks && ../$(BIN)/python relaxometry_bench.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache test-artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
