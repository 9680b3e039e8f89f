# relink: every target installs what it needs into .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.relink-installed
DEMO_DIR ?= demo-out
# The bundled samples' dates count back from this day (relink.samples.REFERENCE_DATE): the demo
# audits as of it, so its forecast and freshness read as they would on the day of the exports.
SAMPLES_DAY := 2026-11-20
PYTEST_ARGS ?=

DESK ?= desk
LAB_PORT ?= 8888

.PHONY: install demo lab test lint format notebooks bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "relink needs Python 3.11 or newer (PYTHON=$(PYTHON))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,dask,app]'
	touch $(STAMP)

install: $(STAMP)

## demo: audit every sample account with `relink batch`, then rehearse one account's change
## on the embedded sandbox (audit, sync, unlink, relink, verify: green)
demo: install
	rm -rf $(DEMO_DIR)
	$(BIN)/relink samples $(DEMO_DIR)/samples
	RELINK_TODAY=$(SAMPLES_DAY) $(BIN)/relink batch $(DEMO_DIR)/samples/manifest.csv --out $(DEMO_DIR)/batch
	@echo
	env -u RELINK_API_URL -u RELINK_API_TOKEN $(BIN)/relink rehearse northwind-home
	@echo; echo "demo: sample exports in $(DEMO_DIR)/samples"
	@echo "demo: batch summary in $(DEMO_DIR)/batch/summary.html (one notebook per account beside it)"

## lab: JupyterLab from .venv on 127.0.0.1, in the desk (DESK, default desk/): one folder per
## ticket, each with its own copy of the runbook (`relink open ACCOUNT --to AE --no-lab`, from
## a terminal of this Lab too, adds one)
lab: install
	mkdir -p $(DESK)
	RELINK_DESK=$(abspath $(DESK)) $(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) \
		--ServerApp.root_dir=$(DESK) --LabApp.news_url=None \
		--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate $(if $(filter 0,$(shell id -u)),--ServerApp.allow_root=True)

## notebooks: re-run the committed notebooks in place on the sample data, store their outputs,
## and drop what changes on every run (each .ipynb is its own source: edit it in JupyterLab)
notebooks: install
	$(BIN)/python tools/refresh_notebooks.py

## test: lint, then the whole suite
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest tests notebooks runbook --nbval \
		--nbval-sanitize-with tests/notebooks/nbval-sanitize.cfg $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench: the benchmarks of benchmarks/README.md (minutes, not part of test)
bench: install
	$(BIN)/python benchmarks/audit_speed.py
	$(BIN)/python benchmarks/batch_speed.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .ruff_cache
