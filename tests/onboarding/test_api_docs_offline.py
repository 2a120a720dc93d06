"""``/api/docs/`` works offline: Swagger UI's files come from the project
(drf-spectacular-sidecar, served by WhiteNoise under /static/), not from a CDN, and
``/api/schema/`` answers JSON a browser shows inline, on the server ``run.sh`` starts."""
from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.runsh import RunSh

ADMIN_PASSWORD = "docs-admin-password-5170"


@pytest.fixture(scope="module")
def runsh() -> Iterator[RunSh]:
    server = RunSh({"ADMIN_PASSWORD": ADMIN_PASSWORD}).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def staff(runsh: RunSh) -> Iterator[httpx.Client]:
    """A browser-like client logged in to the admin as the login run.sh created."""
    with httpx.Client(base_url=runsh.url, headers={"Accept": "text/html,*/*;q=0.8"}) as client:
        form = client.get("/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        done = client.post("/admin/login/?next=/admin/", data={
            "csrfmiddlewaretoken": token, "username": "admin", "password": ADMIN_PASSWORD})
        assert done.status_code == 302, done.text[:300]
        yield client


def test_the_docs_page_loads_only_local_assets(runsh, staff):
    page = staff.get("/api/docs/")
    assert page.status_code == 200
    assets = set(re.findall(r'(?:src|href)\s*=\s*"([^"]+)"', page.text))

    assert not re.search(r"https?://(?!127\.0\.0\.1[:/])", page.text), re.findall(r"https?://[^\"' ]+", page.text)
    assert any("swagger-ui-bundle.js" in a for a in assets) and any("swagger-ui.css" in a for a in assets)
    status = {a: staff.get(urljoin(f"{runsh.url}/api/docs/", a)).status_code for a in assets}
    assert status == {a: 200 for a in assets}
    assert all(urlsplit(urljoin(runsh.url, a)).netloc == urlsplit(runsh.url).netloc for a in assets)


def test_the_schema_shows_as_json_in_a_browser(staff):
    response = staff.get("/api/schema/")

    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == "application/json"
    assert not response.headers.get("content-disposition", "inline").startswith("attachment")
    assert response.json()["openapi"].startswith("3.")


def test_the_schema_is_still_available_as_yaml(staff):
    response = staff.get("/api/schema/?format=yaml")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/yaml")
    assert response.text.startswith("openapi: 3.")
