# make run: set up and serve the portal on SQLite with demo data.  make test: the whole suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCALES := zh_Hans zh_Hant
PO := $(foreach l,$(LOCALES),portal/locale/$(l)/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

.PHONY: run test setup migrate demo messages lint bench clean audit

run: setup
	$(BIN)/python -m portal migrate
	$(BIN)/python -m portal demo
	$(BIN)/python -m portal serve

# Two pytest workers (each with its own databases and browser server); TEST_WORKERS=0 for one.
# worksteal: a worker that runs out takes half of what the other still has queued. xdist's
# default handed one worker a long run of heavy tests that the other, idle, could not share
# (4 of 12 minutes on one worker alone).
TEST_WORKERS ?= 2

test: setup
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

setup: $(STAMP) $(MO)

$(STAMP): pyproject.toml
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PY=python3.11)")'
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile -d portal/locale -D messages --use-fuzzy -f
	@touch $(MO)

# Extract every user-facing string and merge it into the catalogs (then translate the .po files).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -o portal/locale/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i portal/locale/messages.pot -d portal/locale -D messages --no-fuzzy-matching --ignore-obsolete

migrate: setup
	$(BIN)/python -m portal migrate

demo: migrate
	$(BIN)/python -m portal demo

lint: setup
	$(BIN)/ruff check portal tests bench
	$(BIN)/ruff format --check portal tests bench

bench: setup
	@command -v wrk >/dev/null || echo "wrk not found: load from httpx instead, which takes CPU from the server (apt-get install wrk)"
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var/portal.sqlite3*

# Lighthouse (mobile preset) on the key pages against Debian's chromium; not in CI. JSON in var/lighthouse/.
audit: setup
	cd bench/lighthouse && npm install --no-audit --no-fund --loglevel=error
	CHROME_PATH=$${CHROME_PATH:-/usr/bin/chromium} $(BIN)/python bench/lighthouse/audit.py
