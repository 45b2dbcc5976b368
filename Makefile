# The two set-up commands: `make run` and `make test`. Everything else is their plumbing.
PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint run-deps test-deps worker

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

# espeak-ng speaks for the offline speech provider; headless Chromium drives
# the browser tests (Playwright's own browser download does not work
# everywhere, so the tests use the distribution's build).
run-deps:
	@bin/ensure-system-packages --optional espeak-ng:espeak-ng

test-deps:
	@bin/ensure-system-packages espeak-ng:espeak-ng chromium:chromium

run: $(VENV)/.deps run-deps
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_demo --port $(PORT)
	$(BIN)/daphne -b 127.0.0.1 -p $(PORT) videopipe.asgi:application

test: $(VENV)/.deps test-deps
	$(BIN)/ruff check .
	# Worker threads in tests must not keep database connections past their message.
	DRAMATIQ_NAMESPACE=videopipe-test DB_CONN_MAX_AGE=0 $(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Production-style worker (needs REDIS_URL).
worker: $(VENV)/.deps
	$(BIN)/python manage.py rundramatiq
