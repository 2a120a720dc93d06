"""A real browser (headless Chromium from Debian's packages, driven by Playwright) logs in
to the admin, switches to Vietnamese and to Chinese with the header's language switcher,
adds a Custom Provider in each, and sees it in the list."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from tests.conftest import free_port
from tests.outside import chromium_path

pytestmark = pytest.mark.browser

PASSWORD = "browser-admin-password-4821"
UPSTREAM_KEY = "sk-browser-typed-secret-6130"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


class AdminServer:
    """The gateway's ASGI app under uvicorn, with the admin's static files served (as DEBUG would)."""

    def __init__(self) -> None:
        import uvicorn
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        from gateway.asgi import application

        self.port = free_port()
        config = uvicorn.Config(
            ASGIStaticFilesHandler(application), host="127.0.0.1", port=self.port, loop="asyncio",
            http="h11", lifespan="off", log_level="warning", timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="admin-browser-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> AdminServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the admin server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def server(transactional_db: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[AdminServer]:
    from django.db import connections

    # Close the server threads' connections after each request, so none outlives the test
    # (PostgreSQL cannot drop a test database that still has sessions).
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    with AdminServer() as running:
        yield running


CASES = [
    # (language, label of the custom type, title of the add page, provider name)
    ("vi", "Nhà cung cấp tùy chỉnh", "Thêm nhà cung cấp", "trinh-duyet-vi"),
    ("zh-hans", "自定义提供商", "增加 提供商", "liulanqi-zh"),
]


def drive_admin(base: str) -> list[str]:
    """The browser part. Playwright's sync API runs an event loop in this thread, so no ORM here."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(20_000)
            page.goto(f"{base}/admin/login/?next=/admin/")
            expect(page.locator("#language-switcher")).to_be_visible()
            page.fill("#id_username", "ops")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(f"{base}/admin/")
            # The admin stylesheet is served, so this is the real, styled admin.
            assert page.evaluate("getComputedStyle(document.querySelector('#header')).display") == "flex"

            for language, label, add_title, name in CASES:
                # Switch language with the switcher in the header (Django's set_language).
                with page.expect_navigation():
                    page.select_option("#language-select", language)
                expect(page.locator("html")).to_have_attribute("lang", language)

                page.goto(f"{base}/admin/providers/provider/add/")
                expect(page.locator("h1")).to_have_text(add_title)
                expect(page.locator('#id_provider_type option[value="custom"]')).to_have_text(label)
                page.select_option("#id_provider_type", label=label)
                page.fill("#id_name", name)
                page.fill("#id_base_url", "http://127.0.0.1:11434/v1")
                page.fill("#id_new_api_key", UPSTREAM_KEY)
                page.fill("#id_display_name_vi", "Ollama cục bộ")
                page.fill("#id_display_name_zh_hans", "本地 Ollama")
                page.click('input[name="_save"]')
                page.wait_for_url(f"{base}/admin/providers/provider/")

                row = page.locator("#result_list tbody tr", has_text=name)
                expect(row).to_have_count(1)
                expect(row).to_contain_text(label)
                expect(row).to_contain_text("http://127.0.0.1:11434/v1")
                assert UPSTREAM_KEY not in page.content()

                # The change page keeps the key secret too.
                row.locator("th a").click()
                expect(page.locator("#id_new_api_key")).to_have_attribute("type", "password")
                expect(page.locator("#id_new_api_key")).to_have_value("")
                assert UPSTREAM_KEY not in page.content()
                page.goto(f"{base}/admin/providers/provider/")

            return page.locator("#result_list tbody th a").all_inner_texts()
        finally:
            browser.close()


def test_add_custom_provider_in_vietnamese_and_chinese(server, django_user_model):
    from providers.models import Provider

    django_user_model.objects.create_superuser("ops", "ops@example.invalid", PASSWORD)

    listed = drive_admin(server.url)

    names = [name for *_rest, name in CASES]
    assert sorted(listed) == sorted(names)
    for name in names:
        stored = Provider.objects.get(name=name)
        assert stored.provider_type == "custom"
        assert stored.api_key == UPSTREAM_KEY
        assert stored.display_name_vi == "Ollama cục bộ" and stored.display_name_zh_hans == "本地 Ollama"
