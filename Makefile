# Two commands a new user needs: `make run` and `make test`. Each builds .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
CHROMIUM := /usr/bin/chromium

.PHONY: run test test-fast check format bench chromium postgresql db clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.app-deps: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.app-deps $@

## run: serve the app on http://localhost:$(PORT) (loads the published data on first start)
run: $(VENV)/.app-deps
	$(PY) -m engine db
	$(PY) -m streamlit run app.py --server.port $(PORT)

## check: format, lint, types and the import contract (make test runs it first)
check: $(VENV)/.dev-deps
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) tools/import_contract.py

## format: apply ruff's formatting and its safe fixes
format: $(VENV)/.dev-deps
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## test: make check, then the whole suite (unit, property, app, browser; the store on DuckDB and PostgreSQL)
test: check chromium postgresql
	FLOPWISE_TEST_PG=required $(PY) -m pytest

## test-fast: everything but the browser tests
test-fast: $(VENV)/.dev-deps
	$(PY) -m pytest -m "not browser"

## chromium: Debian's chromium for the browser tests (never a downloaded browser build)
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; \
	fi

## postgresql: Debian's PostgreSQL server for the store tests (each run starts a throwaway cluster of its own)
postgresql:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "Installing Debian's postgresql for the store tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql; \
	fi

## bench: print the measured figures (not part of pass/fail)
bench: $(VENV)/.dev-deps
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

## db: create the default database and load the published data
db: $(VENV)/.app-deps
	$(PY) -m engine db

clean:
	rm -rf $(VENV) .pytest_cache data/*.duckdb data/*.duckdb.wal
