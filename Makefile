# Beaconport: `make demo` and `make test` are all a newcomer needs.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BP := $(VENV)/bin/beaconport
DEMO_DB ?= sqlite:///demo.db
PORT ?= 8501
export GX_ANALYTICS_ENABLED := false

.PHONY: install demo seed-demo test test-fast lint format bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

## demo: install, seed the synthetic data set (once) and start the dashboard in demo mode
demo: install seed-demo
	$(BP) --db $(DEMO_DB) dashboard --demo --port $(PORT)

seed-demo: install
	@if [ "$$($(BP) --db $(DEMO_DB) report --json | $(VENV)/bin/python -c 'import json,sys; print(json.load(sys.stdin)["referrals"])')" = "0" ]; then \
		$(BP) --db $(DEMO_DB) seed --out demo-data; \
	else echo "demo database already seeded ($(DEMO_DB))"; fi

## test: install, start the test services (PostgreSQL, Chromium) and run every test
test: install
	bash scripts/test.sh

## test-fast: the unit and SQLite tests only, no services
test-fast: install
	$(VENV)/bin/pytest -q -m "not postgresql and not browser and not slow"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	$(VENV)/bin/python scripts/bench_ingest.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .test-services demo.db demo-data

## screenshots: refresh docs/screenshots/ with the browser test, which seeds its own
## synthetic demo store and starts the dashboard on it (a plain test run writes them
## to test-artifacts/screenshots/ instead, so the work tree stays clean)
.PHONY: screenshots
screenshots: install
	BEACONPORT_SCREENSHOT_DIR=docs/screenshots $(VENV)/bin/pytest -q -p no:cacheprovider \
		-m browser tests/e2e/test_dashboard_browser.py
