#!/usr/bin/env bash
# Set up and run the whole test suite. Tests that need an outside part
# (Chromium, PostgreSQL, Redis, npm programs) are skipped with a reason when it
# is missing; set GATEWAY_REQUIRE_ALL=1 (as .ci/run does) to make them mandatory.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
