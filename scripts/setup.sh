#!/usr/bin/env bash
# Create .venv, install the project (and test extras with --test), compile catalogs, migrate.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
extras=""
if [ "${1:-}" = "--test" ]; then extras="[test,bench]"; fi
stamp=".venv/.installed${extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".${extras}"
  touch "$stamp"
fi
if ! command -v msgfmt >/dev/null 2>&1; then
  echo "msgfmt (GNU gettext) is needed to compile the translations; installing it." >&2
  if [ "$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null; fi
fi
# Compiling catalogs needs no secrets; DEBUG lets settings load on a machine that has none yet.
DEBUG="${DEBUG:-true}" .venv/bin/python manage.py compilemessages -v 0 --ignore=.venv
