#!/usr/bin/env bash
# Create .venv, install the project (and test extras with --test, the lint gate's tools
# with --lint), compile catalogs, migrate.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
extras=""
if [ "${1:-}" = "--test" ]; then extras="[test,bench]"; fi
if [ "${1:-}" = "--lint" ]; then extras="[lint]"; fi
stamp=".venv/.installed${extras}"
# pip runs when pyproject.toml changed since the last install, unless what it asks for
# (with these extras) is installed already: a venv prepared elsewhere (CI, a shared venv)
# is used as it is, offline.
deps_missing() {
  .venv/bin/python - "${extras}" <<'PY'
import sys, tomllib
from importlib.metadata import PackageNotFoundError, version
try:
    from packaging.requirements import Requirement
except ImportError:
    sys.exit(1)
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
wanted = list(project["dependencies"])
for extra in filter(None, sys.argv[1].strip("[]").split(",")):
    wanted += project["optional-dependencies"][extra]
for line in wanted:
    req = Requirement(line)
    try:
        if not req.specifier.contains(version(req.name), prereleases=True):
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
  [ $? -ne 0 ]
}
if { [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; } && deps_missing; then
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
