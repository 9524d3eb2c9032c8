# The two commands of the README's quick start, and what they build on.
#   make serve   install the runtime, then serve GraphQL with demo data on the embedded PostgreSQL
#   make test    install, then lint and run the whole test suite
VENV ?= .venv
BIN := $(VENV)/bin
# uv installs the exact versions of uv.lock (and refuses a lock that pyproject.toml has
# outgrown: `make lock`); it lives in the venv it fills, so it syncs
# --inexact (an exact sync would remove uv itself, which the lock does not list).
UV_VERSION := 0.13.10
UV := $(BIN)/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
SYNC := $(UV) sync --locked --inexact --quiet
RUNTIME := $(VENV)/.runtime-installed
DEVELOPMENT := $(VENV)/.development-installed
ASSETS := hub/static/graphiql/.fetched
PORT ?=

.PHONY: install serve test lint format tools redis lock

install: $(DEVELOPMENT) $(ASSETS)

$(UV):
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Serving installs what serving needs; again whenever the dependencies change.
$(RUNTIME): $(UV) pyproject.toml uv.lock
	$(SYNC) --no-dev
	touch $@

# Tests, linters and the benchmark's chart besides.
$(DEVELOPMENT): $(UV) pyproject.toml uv.lock
	$(SYNC)
	touch $@ $(RUNTIME)

# After a change of pyproject.toml's dependencies: resolve them into uv.lock anew.
lock: $(UV)
	$(UV) lock

# GraphiQL's scripts and styles, fetched with npm (hub/assets.py) for the hub to serve; again
# whenever strawberry (and with it the page's pinned versions) may have changed. Without npm
# or the registry GraphiQL loads them from a CDN, so the quick start still works.
$(ASSETS): $(RUNTIME)
	$(BIN)/python -m hub.assets && touch $@ \
		|| echo "warning: GraphiQL's files could not be fetched; it loads them from a CDN"

# make serve PORT=8080 to choose the port.
serve: $(RUNTIME) $(ASSETS)
	$(BIN)/engagement-hub serve $(if $(PORT),--port $(PORT))

# Two processes (pytest-xdist), a module's tests in one of them so that its fixtures are made
# once; each process has its own databases (its own embedded PostgreSQL without DATABASE_URL).
test: lint tools redis
	$(BIN)/pytest --numprocesses 2 --dist loadfile

# Debian's packages the tests drive, as COMMAND:PACKAGE: wrk for the benchmark's smoke test,
# Chromium and its driver for the browser tests (tests/browser/), nginx as the caching proxy
# in front of the hub (tests/test_http_caching_proxy.py).
TOOLS := wrk:wrk chromium:chromium chromedriver:chromium-driver nginx:nginx-light
tools:
	@missing=; for tool in $(TOOLS); do \
		command -v $${tool%%:*} >/dev/null || missing="$$missing $${tool#*:}"; done; \
	[ -z "$$missing" ] || { [ "$$(id -u)" = 0 ] || { echo "install$$missing (apt-get install$$missing)"; exit 1; }; \
		apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; }

# A Redis for the test of two hubs sharing one rate limit budget (which would skip without
# one): Debian's redis-server if missing, started if down.
redis:
	@command -v redis-server >/dev/null || { [ "$$(id -u)" = 0 ] || { echo "install redis-server (apt-get install redis-server)"; exit 1; }; \
		apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
	@redis-cli ping >/dev/null 2>&1 || { redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" >/dev/null; \
		for attempt in $$(seq 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done; redis-cli ping >/dev/null; }

lint: $(DEVELOPMENT) $(ASSETS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(DEVELOPMENT)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
