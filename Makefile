# fanapp: every target sets itself up on a fresh machine (venv, locked dependencies, migrations).
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000
# The app is strict (production) unless told otherwise; a local `make run`, the tests and the bench are
# development. An operator's own FANAPP_ENV wins.
export FANAPP_ENV ?= development

.PHONY: install run test lint bench lock fake-spotify fake-lastfm fake-apple-music worker migrate screenshots

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

# Local doubles of Spotify and Last.fm to click through those ways in without an account (see README).
# PORT is the double's port only when given (`make fake-spotify PORT=8800` or in the environment):
# its Makefile default is the app's 5000, and each double keeps its own default port (8765, 5002).
FAKE_PORT = $(if $(filter command line environment environment override,$(origin PORT)),--port '$(PORT)')

# APP_URL is the app the double serves (default http://127.0.0.1:5000): Spotify's redirect URI is its
# /callback/spotify unless REDIRECT_URI says otherwise, and both print where to go next.
FAKE_APP = $(if $(APP_URL),--app-url '$(APP_URL)')

fake-spotify: install
	$(PY) -m tests.fakes.spotify $(strip $(FAKE_PORT) $(FAKE_APP) $(if $(REDIRECT_URI),--redirect-uri '$(REDIRECT_URI)'))

fake-lastfm: install
	$(PY) -m tests.fakes.lastfm $(strip $(FAKE_PORT) $(FAKE_APP))

fake-apple-music: install
	$(PY) -m tests.fakes.apple_music $(FAKE_PORT)

# The README's screenshots, taken by the browser tests' tooling so they stay true.
screenshots: install
	$(PY) scripts/screenshots.py

worker: install
	$(VENV)/bin/rq worker-pool --worker-class fanapp.worker.AppWorker --num-workers $${IMPORT_WORKERS:-4} --url $${REDIS_URL:?set REDIS_URL} $${REDIS_PREFIX:-fanapp:}fanapp
