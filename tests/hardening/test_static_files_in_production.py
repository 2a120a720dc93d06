"""In production (DEBUG off, the commands of docs/deployment.md) the admin's pages link
content-hashed static files, which WhiteNoise serves compressed with a one-year
immutable cache; a new release changes the names, so no browser keeps a stale file."""
from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import httpx
import pytest

from tests.runsh import RunSh

DEPLOYMENT = (
    ".venv/bin/python manage.py migrate -v 0 && .venv/bin/python manage.py collectstatic --noinput -v 0 && "
    'exec .venv/bin/uvicorn gateway.asgi:application --host 127.0.0.1 --port "$PORT" --no-access-log'
)


@pytest.fixture(scope="module")
def production() -> Iterator[RunSh]:
    server = RunSh({
        "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(48), "GATEWAY_ENCRYPTION_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "false",
    }, command=DEPLOYMENT).start()
    try:
        yield server
    finally:
        server.stop()


def test_pages_link_hashed_files_served_with_a_long_immutable_cache(production):
    page = httpx.get(f"{production.url}/admin/login/")
    stylesheet = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page.text)

    assert page.status_code == 200 and stylesheet, page.text[:500]
    response = httpx.get(production.url + stylesheet.group(1), headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "max-age=315360000, public, immutable"
    assert response.headers["content-encoding"] == "gzip"
    assert "#header" in response.text


def test_unhashed_names_are_served_with_a_short_cache(production):
    response = httpx.get(f"{production.url}/static/admin/css/base.css")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "max-age=60, public"
