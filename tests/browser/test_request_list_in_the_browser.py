"""The admin's request log in a real browser (headless Chromium) against what
``scripts/run.sh`` starts, in en, vi and zh-hans chosen in the admin, for a staff user
who may only read the request log (``chat.view_requestlog``): the list at 1280 px,
its provider, status-class and streamed filters and its search narrowing the rows,
one row's detail page with its labels in the chosen language, and nothing wider than
the screen on either page.

With GATEWAY_SCREENSHOTS=1 it writes docs/request-list-<language>.png and
docs/request-detail-<language>.png (1280 px)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext

from providers import services
from tests.audit.helpers import staff
from tests.browser.chromium import PNG, in_own_thread, login, screenshot
from tests.usage.rows import row, write

pytestmark = pytest.mark.browser

USERNAME = "ops-requests"
PASSWORD = "pw-requests-browser-4417"
# Twelve rows, fewer than a page: 7 by openai (2 failed upstream, 3 streamed), 5 by
# vllm-a100 (1 refused by a limit, 2 streamed); 2 ask for "qwen2.5-72b".
ROWS = 12
OPENAI, FAILED, STREAMED, QWEN_72B = 7, 2, 5, 2


def _traffic() -> None:
    from chat.models import Outcome

    now, rows = timezone.now(), []
    for i in range(7):
        failed = i in (2, 5)
        rows.append(row(at=now - timedelta(minutes=5 * i + 1), provider="openai", key="team-search",
                        model="openai/gpt-4o-mini", status=502 if failed else 200, latency=600 + 37 * i,
                        ttft=None if failed else 140 + i, tokens=(None, None) if failed else (900 + i, 120 + i),
                        stream=i in (0, 3, 4),
                        **({"error_code": "upstream_unavailable", "error_cause": "connect timeout"} if failed
                           else {})))
    for i in range(5):
        limited = i == 4
        rows.append(row(at=now - timedelta(minutes=5 * i + 3), provider="vllm-a100", key="team-agents",
                        model="vllm-a100/qwen2.5-72b" if i < 2 else "vllm-a100/qwen2.5-7b",
                        status=429 if limited else 200, latency=1 if limited else 900 + 11 * i,
                        ttft=None if limited else 210, tokens=(None, None) if limited else (1500, 300 + i),
                        stream=i in (1, 2), **({"outcome": Outcome.LIMITED, "error_code": "rate_limit_exceeded"}
                                               if limited else {})))
    write(rows)


def _texts(language: str) -> dict[str, Any]:
    with translation.override(language):
        return {
            "columns": [capfirst(gettext(t)) for t in ("requested model", "streamed", "latency (ms)")],
            "sections": [gettext(t) for t in ("Who and where", "Answer", "Timing and usage")],
            "labels": [capfirst(gettext(t)) for t in ("upstream model", "time to first token (ms)", "client address")],
            "outcome": gettext("Upstream error"),
        }


@pytest.mark.parametrize("language", ["en", "vi", "zh-hans"])
def test_request_list_in_the_browser(gateway, django_user_model, language):
    user = staff(django_user_model, USERNAME)  # no providers permission at all
    user.set_password(PASSWORD)
    user.save()
    user.user_permissions.add(Permission.objects.get(content_type__app_label="chat", codename="view_requestlog"))
    # The provider filter offers the configured providers (a small table, not the log).
    for provider in ("openai", "vllm-a100"):
        services.provider_create(name=provider, provider_type="custom", base_url="http://127.0.0.1:9/v1",
                                 api_key=f"sk-requests-browser-{provider}-0001")
    _traffic()
    texts = _texts(language)
    base = gateway.url

    seen = in_own_thread(lambda browser: _drive(browser, base, language))
    assert seen["status"] == 200 and seen["rows"] == ROWS, seen
    assert all(c in seen["header"] for c in texts["columns"]), (seen["header"], texts["columns"])
    assert seen["filtered"] == {"provider": OPENAI, "status_class": FAILED, "stream": STREAMED,
                                "search": QWEN_72B, "provider+5xx": FAILED}, seen["filtered"]
    assert seen["list_width"] <= 1280, seen  # the page itself never scrolls sideways
    assert seen["detail_status"] == 200, seen
    for text in texts["sections"] + texts["labels"] + [texts["outcome"]]:
        assert text in seen["detail_text"], (text, language)
    assert "connect timeout" in seen["detail_text"]
    assert seen["detail_width"] <= 1280, seen
    assert seen["detail_forms"] == 0  # read-only: nothing to submit on the detail page


def _count(page: Any) -> int:
    return page.locator("#result_list tbody tr").count()


def _drive(browser: Any, base: str, language: str) -> dict[str, Any]:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, base, USERNAME, PASSWORD, language=language)
    listing = f"{base}/admin/chat/requestlog/"
    response = page.goto(listing)
    seen: dict[str, Any] = {"status": response.status if response else 0, "rows": _count(page),
                            "header": page.text_content("#result_list thead"),
                            "list_width": page.evaluate("document.documentElement.scrollWidth")}
    assert screenshot(page, f"request-list-{language}.png")[:8] == PNG

    # Each filter clicked in the sidebar, as a person would, from the unfiltered list.
    filtered: dict[str, int] = {}
    for name, link in (("provider", "provider=openai"), ("status_class", "status_class=5xx"),
                       ("stream", "stream__exact=1")):
        page.goto(listing)
        with page.expect_navigation():
            page.click(f'#changelist-filter a[href*="{link}"]')
        filtered[name] = _count(page)
    # A second filter on top of the first keeps both.
    page.goto(listing)
    with page.expect_navigation():
        page.click('#changelist-filter a[href*="provider=openai"]')
    with page.expect_navigation():
        page.click('#changelist-filter a[href*="status_class=5xx"]')
    filtered["provider+5xx"] = _count(page)
    # The search box: by model.
    page.goto(listing)
    page.fill("#searchbar", "qwen2.5-72b")
    with page.expect_navigation():
        page.press("#searchbar", "Enter")
    filtered["search"] = _count(page)
    seen["filtered"] = filtered

    # One failed row's detail page, opened from the filtered list.
    page.goto(f"{listing}?status_class=5xx")
    with page.expect_navigation():
        page.click("#result_list tbody tr:first-child a")
    seen["detail_status"] = 200 if "/change/" in page.url else 0
    seen["detail_text"] = page.text_content("#content")
    seen["detail_width"] = page.evaluate("document.documentElement.scrollWidth")
    seen["detail_forms"] = page.locator("#content form input[type=submit]").count()
    screenshot(page, f"request-detail-{language}.png")
    context.close()
    return seen
