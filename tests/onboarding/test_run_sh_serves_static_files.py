"""``./scripts/run.sh`` on a fresh var directory serves the admin's static files itself
(WhiteNoise, after the collectstatic run.sh does), so the admin is styled and its
JavaScript runs; the /v1 fast path stays on with WhiteNoise in the middleware."""
from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.runsh import RunSh


@pytest.fixture(scope="module")
def runsh() -> Iterator[RunSh]:
    server = RunSh().start()
    try:
        yield server
    finally:
        server.stop()


def test_admin_stylesheet_is_served(runsh):
    response = httpx.get(f"{runsh.url}/static/admin/css/base.css")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "#header" in response.text


def test_every_asset_the_login_page_links_is_served(runsh):
    page = httpx.get(f"{runsh.url}/admin/login/")
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)

    assert page.status_code == 200
    assert any(a.endswith("/base.css") for a in assets) and any(a.endswith(".js") for a in assets)
    assert {a: httpx.get(runsh.url + a).status_code for a in assets} == {a: 200 for a in assets}


def test_the_v1_fast_path_stays_on(runsh):
    response = httpx.get(f"{runsh.url}/v1/models")

    assert response.status_code == 401
    assert {"message", "type"} <= set(response.json()["error"])
    assert "fast path is off" not in runsh.log()
