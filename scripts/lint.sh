#!/usr/bin/env bash
# The lint and type gate, as configured in pyproject.toml: ruff (pyflakes,
# pycodestyle, bugbear, pyupgrade, isort, async rules, blind excepts, ruff's own;
# line length 120) over the whole tree, then mypy with django-stubs over the
# application code. .ci/run runs it before anything else.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --lint
echo "== ruff"
.venv/bin/ruff check .
echo "== mypy"
DEBUG="${DEBUG:-true}" .venv/bin/mypy
