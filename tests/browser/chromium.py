"""Headless Chromium (Debian's package, driven by Playwright's sync API) for the browser
tests, which drive what ``scripts/run.sh`` serves (tests/runsh.py; the ``server`` and
``gateway`` fixtures of conftest.py). With GATEWAY_SCREENSHOTS=1, ``screenshot`` also
writes the README's screenshots into docs/; a normal run leaves the work tree as it was."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from tests.outside import chromium_path

DOCS = Path(__file__).resolve().parents[2] / "docs"
WRITE_SCREENSHOTS = os.environ.get("GATEWAY_SCREENSHOTS") == "1"
PNG = b"\x89PNG\r\n\x1a\n"  # how every PNG file starts
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
T = TypeVar("T")


@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium, closed afterwards (skipped, or failed under GATEWAY_REQUIRE_ALL,
    without it). Playwright's sync API runs an event loop in this thread: no ORM in here."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def in_own_thread(drive: Callable[[Any], T]) -> T:
    """``drive(browser)`` with headless Chromium in a thread of its own: Playwright's sync
    API runs an event loop in its thread, where Django's ORM refuses to run, so the test's
    database work stays in the test's thread."""

    def run() -> T:
        with chromium() as browser:
            return drive(browser)

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def login(page: Any, base: str, username: str, password: str, *, language: str | None = None,
          landing: str = "/admin/") -> None:
    """Log in with the admin's login form, landing on ``landing``; then, if ``language`` is
    given, choose it with the header's language switcher."""
    page.goto(f"{base}/admin/login/?next={landing}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}{landing}")
    if language is not None:
        with page.expect_navigation():
            page.select_option("#language-select", language)


def screenshot(page: Any, name: str) -> bytes:
    """The whole page as PNG; written to docs/``name`` under GATEWAY_SCREENSHOTS=1."""
    shot = page.screenshot(full_page=True)
    if WRITE_SCREENSHOTS:
        (DOCS / name).write_bytes(shot)
    return shot
