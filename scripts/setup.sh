#!/usr/bin/env bash
# Create .venv and install casewatch with its development tools, at the exact versions and
# hashes of requirements.lock (regenerate it with `make lock`). Idempotent: re-running
# only reinstalls when pyproject.toml or requirements.lock changed. Works with Python 3.11
# or later; on 3.11 and 3.12 it also installs durable-rules (the `durable` extra; its C
# core needs a C compiler and does not load on 3.13), elsewhere the reference matcher runs.
#   PYTHON=/path/to/python   use that interpreter
#   PYTHON_VERSION=3.13      find that version (on PATH or under pyenv) instead
#   VENV=.venv-3.13          create the environment there instead of .venv
set -euo pipefail
cd "$(dirname "$0")/.."

# A Debian package the browser tests need: installed with apt-get when run as root,
# otherwise the command to run is said. Usage: debian_package PACKAGE WHAT-NEEDS-IT
debian_package() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's $1 for $2" >&2
    apt-get install -y -qq "$1" >/dev/null \
      || { apt-get update -qq && apt-get install -y -qq "$1" >/dev/null; }
  else
    echo "setup: $2 need Debian's $1: run 'sudo apt-get install $1'" >&2
    exit 1
  fi
}

# --with-browser: the test suite looks at rendered pages in headless Chromium, which comes
# from Debian's `chromium` package (never a browser downloaded by a test tool); the TLS
# proxy test puts Debian's `nginx` in front of `casewatch serve`; and axe-core, the
# accessibility checker injected into every page, comes from the npm registry at the
# version package-lock.json pins (npm from Debian's `npm`).
if [ "${1:-}" = "--with-browser" ]; then
  command -v chromium >/dev/null 2>&1 || debian_package chromium "the browser tests"
  [ -x /usr/sbin/nginx ] || debian_package nginx "the TLS proxy tests"
  command -v npm >/dev/null 2>&1 || debian_package npm "the accessibility checks"
  if [ ! -f node_modules/axe-core/axe.min.js ] || [ package-lock.json -nt node_modules/axe-core/axe.min.js ]; then
    npm ci --no-audit --no-fund --silent
    touch node_modules/axe-core/axe.min.js
  fi
fi

venv=${VENV:-.venv}
want=${PYTHON_VERSION:-}
# A candidate counts only if it runs and is 3.11 or later (a pyenv shim can exist on PATH
# and still refuse to run a version that is not selected).
usable() { "$1" -c 'import sys; sys.exit(not sys.version_info[:2] >= (3, 11))' >/dev/null 2>&1; }
python=${PYTHON:-}
if [ -z "$python" ]; then
  if [ -n "$want" ]; then
    candidates=("python$want" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$want"*/bin/"python$want")
  else
    candidates=(python3.11 python3.12 python3.13 python3)
  fi
  for candidate in "${candidates[@]}"; do
    if usable "$candidate"; then python=$candidate; break; fi
  done
fi
if [ -z "$python" ] || ! usable "$python"; then
  echo "setup: need Python ${want:-3.11 or later} (set PYTHON=/path/to/python3)" >&2
  exit 1
fi
if [ -n "$want" ] && ! "$python" -c "import sys; sys.exit(f'{sys.version_info[0]}.{sys.version_info[1]}' != '$want')"; then
  echo "setup: $python is not Python $want" >&2
  exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
stamp=$venv/.casewatch-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ]; then
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  # Every dependency pinned and hash-checked (markers pick durable-rules on 3.11/3.12),
  # then casewatch itself, editable, adding nothing unlocked.
  "$venv/bin/python" -m pip install --quiet --require-hashes -r requirements.lock
  "$venv/bin/python" -m pip install --quiet --no-deps -e .
  "$venv/bin/python" -m pip check >/dev/null
  touch "$stamp"
fi
