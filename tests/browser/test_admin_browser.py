"""A real browser (headless Chromium from Debian's packages, driven by Playwright) logs in
to the admin, switches to Vietnamese and to Chinese with the header's language switcher,
adds a Custom Provider in each, and sees it in the list. The server is ``scripts/run.sh``
itself, on a fresh var directory; the browser logs in with the login it printed."""
from __future__ import annotations

import json

import pytest

from tests.browser.chromium import chromium

pytestmark = pytest.mark.browser

UPSTREAM_KEY = "sk-browser-typed-secret-6130"

CASES = [
    # (language, label of the custom type, title of the add page, provider name)
    ("vi", "Nhà cung cấp tùy chỉnh", "Thêm nhà cung cấp", "trinh-duyet-vi"),
    ("zh-hans", "自定义提供商", "增加 提供商", "liulanqi-zh"),
]


def drive_admin(base: str, username: str, password: str) -> list[str]:
    """The browser part. Playwright's sync API runs an event loop in this thread, so no ORM here."""
    from playwright.sync_api import expect

    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{base}/admin/login/?next=/admin/")
        expect(page.locator("#language-switcher")).to_be_visible()
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        page.wait_for_url(f"{base}/admin/")
        # The admin stylesheet is served, so this is the real, styled admin: the header is
        # a coloured flex bar, not an unstyled block on a transparent background.
        header = page.evaluate("(() => { const s = getComputedStyle(document.querySelector('#header'));"
                               " return {display: s.display, background: s.backgroundColor}; })()")
        assert header["display"] == "flex"
        assert header["background"] not in {"rgba(0, 0, 0, 0)", "transparent"}, header

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


STORED = """
import json
from providers.models import Provider
print(json.dumps({p.name: {"type": p.provider_type, "key_ok": p.api_key == %r,
                           "vi": p.display_name_vi, "zh": p.display_name_zh_hans}
                  for p in Provider.objects.all()}))
"""


def test_add_custom_provider_in_vietnamese_and_chinese(server):
    assert server.username == "admin" and server.password  # the login run.sh printed

    listed = drive_admin(server.url, server.username, server.password)

    names = [name for *_rest, name in CASES]
    assert sorted(listed) == sorted(names)
    # What the server stored, read as a user would from another shell.
    done = server.manage("shell", "-c", STORED % UPSTREAM_KEY)
    assert done.returncode == 0, done.stderr
    stored = json.loads(done.stdout.strip().splitlines()[-1])
    assert stored == {name: {"type": "custom", "key_ok": True, "vi": "Ollama cục bộ", "zh": "本地 Ollama"}
                      for name in names}
