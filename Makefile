# The two set-up commands are `make run` and `make test` (see README.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PG_URL ?= $(or $(TEST_DATABASE_URL),postgresql+psycopg://postgres@127.0.0.1:5432/postgres)

.PHONY: install install-dev run test test-sqlite test-postgres bench lint translations extract-messages system-deps

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip >/dev/null

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime translations

install-dev: $(VENV)/.dev translations system-deps

# Compiled catalogues are build products; the .po files are the source.
translations: $(VENV)/.runtime
	$(BIN)/pybabel compile -d translations >/dev/null 2>&1

extract-messages: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ -o translations/messages.pot --no-location --sort-output gi_registry templates
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/python scripts/fill_en_catalog.py

# Debian's poppler-utils (pdftoppm, for the label scan test), chromium (browser tests) and a CJK font (label text).
system-deps:
	@./scripts/system-deps.sh

# `make run PORT=5001` when 5000 is taken; the label URLs follow the port unless GI_BASE_URL is set
# (in the environment or .env: only a port given on the command line sets it here).
PORT ?= 5000
ifeq ($(origin PORT),command line)
run: export GI_BASE_URL := $(or $(GI_BASE_URL),http://127.0.0.1:$(PORT))
endif
run: install
	$(FLASK) init-db
	$(FLASK) seed-demo
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install-dev lint test-sqlite test-postgres

lint: $(VENV)/.dev
	$(BIN)/ruff check gi_registry tests bench migrations wsgi.py

test-sqlite:
	$(BIN)/python -m pytest

# Runs the same suite on a fresh PostgreSQL database when a server answers; says so when it does not.
test-postgres:
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_URL)'.replace('+psycopg',''), connect_timeout=3).close()" 2>/dev/null; then \
		echo "== PostgreSQL suite on $(PG_URL)"; \
		GI_TEST_DB=postgres TEST_DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -m "not browser"; \
	else echo "== SKIPPED: no PostgreSQL server answers at $(PG_URL); the PostgreSQL suite did not run"; fi

bench: install-dev
	$(BIN)/python bench/labels.py --memory
	$(BIN)/python bench/verify.py
	$(BIN)/python bench/imports.py
	$(BIN)/python bench/epcis.py
