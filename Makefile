# The two commands of the README's quick start, and what they build on.
#   make serve   install, then serve GraphQL with demo data on the embedded PostgreSQL
#   make test    install, then lint and run the whole test suite
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install serve test lint format tools redis

install: $(INSTALLED)

# Reinstall whenever the dependencies change.
$(INSTALLED): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

serve: $(INSTALLED)
	$(BIN)/engagement-hub serve

test: lint tools
	$(BIN)/pytest

# The benchmark's smoke test drives the hub with wrk, from Debian's packages.
tools:
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] || { echo "install wrk (apt-get install wrk)"; exit 1; }; \
		apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

# A Redis for the test of two hubs sharing one rate limit budget (which skips without one; CI
# runs this first so that it never does): Debian's redis-server if missing, started if down.
redis:
	@command -v redis-server >/dev/null || { [ "$$(id -u)" = 0 ] || { echo "install redis-server (apt-get install redis-server)"; exit 1; }; \
		apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
	@redis-cli ping >/dev/null 2>&1 || { redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" >/dev/null; \
		for attempt in $$(seq 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done; redis-cli ping >/dev/null; }

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
