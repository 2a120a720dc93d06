"""In a real browser with every request off this machine refused, ``/api/docs/`` on the
server ``run.sh`` starts draws Swagger UI with the provider operations, and
``/api/schema/`` opens as a page (JSON shown inline), not as a download."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser.chromium import chromium, login

pytestmark = pytest.mark.browser


def test_swagger_ui_draws_offline_and_the_schema_opens_inline(server):
    from playwright.sync_api import expect

    refused: list[str] = []

    def offline(route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(20_000)
        page.route("**/*", offline)
        login(page, server.url, server.username, server.password, landing="/api/docs/")
        expect(page.locator(".swagger-ui .opblock-summary-path", has_text="/api/providers/").first).to_be_visible()

        response = page.goto(f"{server.url}/api/schema/")  # a download would raise here
        assert response is not None and response.status == 200
        expect(page.locator("body")).to_contain_text('"openapi"')

    assert refused == []
