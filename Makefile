# The README's two commands are `make demo` and `make test`; the rest are for developers.
.PHONY: demo test test-3.13 lock lint audit check-types unit demo-data bench-import clean

VENV := .venv/bin
PORT ?= 8000

# Set up, create ./casewatch.db with a demo year ending today and its people (kept if
# already there), then serve the web pages and API at http://127.0.0.1:$(PORT) (Ctrl+C
# stops). A port already in use is said so before anything changes: make demo PORT=8001.
demo:
	@scripts/setup.sh
	$(VENV)/python scripts/demo.py --port $(PORT)

# Set up, then run every check CI runs: lint, types, architecture, the whole test suite.
test:
	@scripts/setup.sh --with-browser
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory audit
	$(VENV)/pytest
	$(MAKE) --no-print-directory test-3.13

# The unit and SQLite integration tests again on Python 3.13, where durable-rules does not
# load and the reference matcher runs: a second environment in .venv-3.13.
test-3.13:
	@VENV=.venv-3.13 PYTHON_VERSION=3.13 scripts/setup.sh
	.venv-3.13/bin/pytest tests/unit tests/integration -q -k "not postgresql" -p no:cacheprovider

# Regenerate requirements.lock (every dependency of every extra, pinned with hashes, one
# file for Python 3.11-3.13). Keeps current pins; `make lock LOCK_FLAGS=--upgrade` takes
# the newest versions pyproject.toml allows.
lock:
	$(VENV)/uv pip compile pyproject.toml --extra dev --extra durable --universal \
		--python-version 3.11 --generate-hashes --custom-compile-command "make lock" \
		--quiet $(LOCK_FLAGS) -o requirements.lock

lint:
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/mypy
	$(VENV)/lint-imports

# Known vulnerabilities in the installed dependencies (pip-audit; see the script for what
# happens when its advisory service is out of reach).
audit:
	$(VENV)/python scripts/audit_dependencies.py

# Fast feedback while coding: unit tests only.
unit:
	$(VENV)/pytest tests/unit -q

# Regenerate data/demo/events.jsonl, the 2014/15 year the tests use (deterministic; a test
# checks it is unchanged). `make demo` generates its own year ending today.
demo-data:
	$(VENV)/python scripts/generate_demo.py

bench-import:
	$(VENV)/python bench/import.py

clean:
	rm -rf .venv .venv-3.13 .pytest_cache .mypy_cache .ruff_cache .hypothesis casewatch.db casewatch.db-*
