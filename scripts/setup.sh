#!/usr/bin/env bash
# Create .venv and install casewatch with its development tools. Idempotent: re-running
# only reinstalls when pyproject.toml changed. Needs Python 3.11 or 3.12 (durable-rules,
# the rule matcher, does not build on 3.13) and a C compiler for durable-rules' core.
set -euo pipefail
cd "$(dirname "$0")/.."

# --with-browser: the test suite looks at rendered pages in headless Chromium, which comes
# from Debian's `chromium` package (never a browser downloaded by a test tool).
if [ "${1:-}" = "--with-browser" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's chromium for the browser tests" >&2
    apt-get install -y -qq chromium >/dev/null \
      || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
  else
    echo "setup: the browser tests need Chromium: run 'sudo apt-get install chromium'" >&2
    exit 1
  fi
fi
# The TLS proxy test puts Debian's `nginx` in front of `casewatch serve` (tests/browser).
if [ "${1:-}" = "--with-browser" ] && [ ! -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's nginx for the TLS proxy test" >&2
    apt-get install -y -qq nginx >/dev/null \
      || { apt-get update -qq && apt-get install -y -qq nginx >/dev/null; }
  else
    echo "setup: the TLS proxy test needs nginx: run 'sudo apt-get install nginx'" >&2
    exit 1
  fi
fi

# --with-browser: axe-core, the accessibility checker the browser tests inject into every
# page, from the npm registry at the version package-lock.json pins (npm from Debian's `npm`).
if [ "${1:-}" = "--with-browser" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "setup: installing Debian's npm for axe-core" >&2
      apt-get install -y -qq npm >/dev/null \
        || { apt-get update -qq && apt-get install -y -qq npm >/dev/null; }
    else
      echo "setup: the browser tests need npm for axe-core: run 'sudo apt-get install npm'" >&2
      exit 1
    fi
  fi
  if [ ! -f node_modules/axe-core/axe.min.js ] || [ package-lock.json -nt node_modules/axe-core/axe.min.js ]; then
    npm ci --no-audit --no-fund --silent
    touch node_modules/axe-core/axe.min.js
  fi
fi

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python=$candidate; break; fi
  done
fi
if [ -z "$python" ] || ! "$python" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] <= (3, 12)))'; then
  echo "setup: need Python 3.11 or 3.12 (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=.venv/.casewatch-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  touch "$stamp"
fi
