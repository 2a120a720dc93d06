"""In a real browser with every request off this machine refused, ``/api/docs/`` on the
server ``run.sh`` starts draws Swagger UI with the provider operations, and
``/api/schema/`` opens as a page (JSON shown inline), not as a download."""
from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.outside import chromium_path
from tests.runsh import RunSh

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture
def server() -> Iterator[RunSh]:
    chromium_path()
    running = RunSh().start()
    try:
        yield running
    finally:
        running.stop()


def test_swagger_ui_draws_offline_and_the_schema_opens_inline(server):
    from playwright.sync_api import expect, sync_playwright

    refused: list[str] = []

    def offline(route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(20_000)
            page.route("**/*", offline)
            page.goto(f"{server.url}/admin/login/?next=/api/docs/")
            page.fill("#id_username", server.username)
            page.fill("#id_password", server.password)
            page.click("input[type=submit]")
            page.wait_for_url(f"{server.url}/api/docs/")
            expect(page.locator(".swagger-ui .opblock-summary-path", has_text="/api/providers/").first).to_be_visible()

            response = page.goto(f"{server.url}/api/schema/")  # a download would raise here
            assert response is not None and response.status == 200
            expect(page.locator("body")).to_contain_text('"openapi"')
        finally:
            browser.close()

    assert refused == []
