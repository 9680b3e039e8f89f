# relink: every target installs what it needs into .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.relink-installed
DEMO_DIR ?= demo-out
PYTEST_ARGS ?=

.PHONY: install demo test lint format notebooks bench lab clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "relink needs Python 3.11 or newer (PYTHON=$(PYTHON))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## demo: write the sample exports and audit every account
demo: install
	rm -rf $(DEMO_DIR)
	$(BIN)/relink samples $(DEMO_DIR)/samples
	@set -u; for export in $(DEMO_DIR)/samples/*.csv $(DEMO_DIR)/samples/*.xlsx; do \
		name=$$(basename "$${export%.*}"); [ "$$name" = manifest ] && continue; \
		side=$(DEMO_DIR)/samples/aliexpress/$$name.csv; \
		args=(); [ -f "$$side" ] && args=(--aliexpress "$$side"); \
		echo; $(BIN)/relink audit "$$export" "$${args[@]}"; status=$$?; \
		[ $$status -le 1 ] || exit $$status; \
	done; echo; echo "demo: sample exports in $(DEMO_DIR)/samples"

## test: lint, then the whole suite
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench: the benchmarks of benchmarks/README.md (minutes, not part of test)
bench: install
	$(BIN)/python benchmarks/audit_speed.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .ruff_cache
