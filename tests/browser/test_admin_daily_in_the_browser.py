"""Daily admin work in a real browser (headless Chromium, Playwright) against what
``scripts/run.sh`` starts, in en, vi and zh-hans chosen in the admin (the browser itself
asks for English):

- a refused provider form keeps what was typed except secrets and says so; a 600-character
  base URL is refused, not cut; fixed and typed again, it saves;
- choosing a type shows only the inputs and settings keys it takes;
- the list shows the API key and health columns at 1280 px, and neither the list nor the
  probe table widens the page at 390 px;
- the playground shows a streamed tool call and the raw events, and its errors follow the
  admin's language.

With GATEWAY_SCREENSHOTS=1 the README's screenshots in docs/ are written from here."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation
from django.utils.translation import gettext, ngettext

from providers import services
from providers.models import Provider
from tests.browser.chromium import PNG, in_own_thread, login, screenshot
from tests.fakes.quirky_upstream import QuirkyUpstream

pytestmark = pytest.mark.browser

PASSWORD = "pw-daily-browser-4471"
TYPED_KEY = "sk-daily-typed-key-5Hq2"
TYPED_HEADER = "daily-header-value-8Rt3"
LONG_URL = "http://127.0.0.1:9/v1/" + "a" * 578
TOOLS = [{"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}]


@pytest.fixture
def quirky() -> Iterator[QuirkyUpstream]:
    server = QuirkyUpstream().start()
    yield server
    server.stop()


def _texts(language: str) -> dict[str, str]:
    with translation.override(language):
        return {
            "too_long": ngettext("Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
                                 "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
                                 500) % {"limit_value": 500, "show_value": 600},
            "retype_key": gettext(
                "The API key you typed is not shown again (it is a secret): type it again before saving."),
            "tool_done": gettext("Done: the model asked for the tool calls shown."),
            "no_model": gettext("The model “%(model)s” does not exist or you do not have access to it.")
            % {"model": "nowhere/none"},
            "error": gettext("Error"),
        }


@pytest.mark.parametrize("language", ["en", "vi", "zh-hans"])
def test_daily_admin_work_in_the_browser(gateway, quirky, language):
    get_user_model().objects.create_superuser("daily", "daily@example.com", PASSWORD)
    services.provider_create(name="quirky", provider_type="custom", base_url=quirky.base_url,
                             api_key="sk-stored-key-for-quirky-0001")
    texts = _texts(language)
    base = gateway.url

    seen = in_own_thread(lambda browser: _drive(browser, base, language, texts))

    saved = Provider.objects.get(name="typed-again")
    assert saved.api_key == TYPED_KEY and saved.extra_headers == {"X-Tenant": TYPED_HEADER}
    assert saved.base_url == "http://127.0.0.1:9/v1"
    assert seen["refused_headers"] == '{"X-Tenant": ""}'
    # The playground sent the typed tools (the probe's own requests come later).
    assert [r["model"] for r in quirky.requests if r.get("tools") == TOOLS] == ["slow-text"]


def _page_width(page: Any) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def _drive(browser: Any, base: str, language: str, texts: dict[str, str]) -> dict[str, Any]:
    # The browser asks for English (its locale sets Accept-Language; extra_http_headers would
    # override the header the page's own script sends too).
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    seen: dict[str, Any] = {}
    try:
        # The admin's chosen language (the header's switcher), while the browser asks for English.
        login(page, base, "daily", PASSWORD, language=language)
        assert page.get_attribute("html", "lang") == language

        # The form shows what the chosen type takes.
        page.goto(f"{base}/admin/providers/provider/add/")
        page.select_option("#id_provider_type", "acp")
        assert page.is_hidden(".form-row.field-base_url") and page.is_hidden(".form-row.field-new_extra_headers")
        assert page.is_visible('.type-guide-part[data-type="acp"]')
        assert page.is_hidden('.type-guide-part[data-type="custom"]')
        acp_keys = page.eval_on_selector_all('.type-guide-part[data-type="acp"] dt', "ds => ds.map(d => d.textContent)")
        assert "permission_policy" in acp_keys and "base_url" not in acp_keys
        page.select_option("#id_provider_type", "custom")
        assert page.is_visible(".form-row.field-base_url") and page.is_visible('.type-guide-part[data-type="custom"]')
        assert page.is_hidden('.type-guide-part[data-type="acp"]')

        # A refused save: a 600-character URL is refused, not cut; secrets are asked for again.
        page.fill("#id_name", "typed-again")
        page.fill("#id_base_url", LONG_URL)
        assert len(page.input_value("#id_base_url")) == 600
        page.fill("#id_new_api_key", TYPED_KEY)
        page.fill("#id_new_extra_headers", json.dumps({"X-Tenant": TYPED_HEADER}))
        page.fill("#id_settings", '{"read_timeout": 45}')
        page.click('input[name="_save"]')
        page.wait_for_selector(".errornote")
        assert page.text_content(".field-base_url .errorlist").strip() == texts["too_long"]
        assert page.input_value("#id_name") == "typed-again"
        assert page.input_value("#id_base_url") == LONG_URL
        assert page.input_value("#id_settings") == '{"read_timeout": 45}'
        seen["refused_headers"] = page.input_value("#id_new_extra_headers")
        assert page.input_value("#id_new_api_key") == ""
        assert page.text_content(".field-new_api_key strong.retype-secret").strip() == texts["retype_key"]
        assert TYPED_KEY not in page.content() and TYPED_HEADER not in page.content()
        assert screenshot(page, f"provider-form-{language}.png")[:8] == PNG
        # Fixed and typed again, it saves.
        page.fill("#id_base_url", "http://127.0.0.1:9/v1")
        page.fill("#id_new_api_key", TYPED_KEY)
        page.fill("#id_new_extra_headers", json.dumps({"X-Tenant": TYPED_HEADER}))
        with page.expect_navigation():
            page.click('input[name="_save"]')
        errors = page.eval_on_selector_all(".errorlist li", "ls => ls.map(l => l.textContent)")
        assert page.url == f"{base}/admin/providers/provider/", (page.url, errors)

        # The list at 1280 px: the API key and health columns are on screen.
        # (Every cell within the list's visible box: the table does not scroll sideways.)
        fits = page.evaluate("""() => {
            const box = document.querySelector('#changelist .results').getBoundingClientRect();
            return Array.from(document.querySelectorAll('#result_list td.field-key_hint, #result_list td.field-health_state'))
                .map(td => td.getBoundingClientRect()).every(r => r.right <= Math.min(box.right, 1280) + 0.5);
        }""")
        assert fits
        assert page.evaluate("document.querySelector('#result_list').scrollWidth "
                             "<= document.querySelector('#changelist .results').clientWidth")
        assert screenshot(page, f"provider-list-{language}.png")[:8] == PNG

        # The playground: a streamed tool call is shown with its arguments, and the raw events.
        page.goto(f"{base}/admin/providers/provider/playground/?provider=quirky")
        page.wait_for_selector("#pg-model option[value='quirky/slow-text']", state="attached")
        page.select_option("#pg-model", "quirky/slow-text")
        page.fill("#pg-prompt", "What time is it in Hanoi?")
        page.fill("#pg-tools-json", json.dumps(TOOLS))
        page.click("#pg-send")
        page.wait_for_function("document.getElementById('pg-output').dataset.done === 'true'")
        assert page.text_content("#pg-tools .pg-tool-name") == "get_time"
        assert page.text_content("#pg-tools .pg-tool-arguments") == '{"city": "Hanoi"}'
        assert page.text_content("#pg-status").strip() == texts["tool_done"]
        page.click("#pg-raw summary")
        raw = page.text_content("#pg-raw-events")
        assert '"tool_calls"' in raw and raw.rstrip().endswith("data: [DONE]")
        assert screenshot(page, f"playground-tools-{language}.png")[:8] == PNG
        # An error comes in the admin's language, not the browser's.
        page.fill("#pg-model-custom", "nowhere/none")
        page.click("#pg-send")
        page.wait_for_function("document.getElementById('pg-output').dataset.done === 'error'")
        assert page.text_content("#pg-status").strip() == f"{texts['error']}: {texts['no_model']}"

        # At 390 px: neither the list nor the probe table widens the page.
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/admin/providers/provider/")
        assert _page_width(page) <= 390, _page_width(page)
        pk = page.get_attribute("#result_list tbody tr:has-text('quirky') input[name=_selected_action]", "value")
        page.goto(f"{base}/admin/providers/provider/{pk}/probe/")
        page.wait_for_selector("#probe-checklist")
        assert _page_width(page) <= 390, _page_width(page)
        assert screenshot(page, f"probe-narrow-{language}.png")[:8] == PNG
    finally:
        context.close()
    return seen
