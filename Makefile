# The two set-up commands: `make run` and `make test`. Everything else is their plumbing.
PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint system-deps worker

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

# Headless Chromium drives the browser tests (Playwright's own browser download
# does not work everywhere, so the tests use the distribution's build).
system-deps:
	@if ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Please install Chromium (Debian/Ubuntu: sudo apt-get install chromium)"; exit 1; fi; \
	fi

run: $(VENV)/.deps
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_demo --port $(PORT)
	$(BIN)/daphne -b 127.0.0.1 -p $(PORT) videopipe.asgi:application

test: $(VENV)/.deps system-deps
	$(BIN)/ruff check .
	DRAMATIQ_NAMESPACE=videopipe-test $(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Production-style worker (needs REDIS_URL).
worker: $(VENV)/.deps
	$(BIN)/python manage.py rundramatiq
