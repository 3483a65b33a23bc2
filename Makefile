# fanapp: every target sets itself up on a fresh machine (venv, locked dependencies, migrations).
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: install run test lint bench lock fake-spotify worker migrate screenshots

install: $(STAMP) node_modules/.installed
	@bash scripts/system-packages.sh

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# htmx (served to browser tests in place of the CDN) and axe-core: pinned in package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $@

migrate: $(STAMP)
	$(VENV)/bin/flask --app fanapp upgrade-db

run: install migrate
	$(VENV)/bin/flask --app fanapp run --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check fanapp tests bench scripts migrations
	$(VENV)/bin/ruff format --check fanapp tests bench scripts
	$(VENV)/bin/mypy fanapp
	$(VENV)/bin/lint-imports

test: install lint
	$(VENV)/bin/pytest -n 2 --dist loadgroup

bench: install
	$(PY) -m bench

lock: $(STAMP)
	$(PY) scripts/lock.py

# A local Spotify double to click through the Spotify path without an account (see README).
fake-spotify: install
	$(PY) -m tests.fakes.spotify

# The README's screenshots, taken by the browser tests' tooling so they stay true.
screenshots: install
	$(PY) scripts/screenshots.py

worker: install
	$(VENV)/bin/rq worker --worker-class fanapp.worker.AppWorker --with-scheduler --url $${REDIS_URL:?set REDIS_URL} $${REDIS_PREFIX:-fanapp:}fanapp
