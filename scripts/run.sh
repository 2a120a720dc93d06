#!/usr/bin/env bash
# Set up and run the gateway on the embedded default: SQLite, a locally generated
# encryption key (var/encryption.key, outside the database), static files collected into
# var/static and served by WhiteNoise, uvicorn on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export DEBUG="${DEBUG:-true}"
.venv/bin/python manage.py migrate -v 0
.venv/bin/python manage.py ensure_admin
# The admin's CSS and JavaScript, gathered into STATIC_ROOT (var/static) for WhiteNoise to serve.
.venv/bin/python manage.py collectstatic --noinput -v 0
exec .venv/bin/uvicorn gateway.asgi:application --host 127.0.0.1 --port "${PORT:-8000}" --no-access-log
