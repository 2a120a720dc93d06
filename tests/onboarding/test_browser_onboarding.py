"""Onboarding in a real browser (headless Chromium driven by Playwright) against
``scripts/run.sh`` (sharing this test's database, so the test arranges and checks rows): test connection from the change page and from the
bulk action, fetch models and set the allowlist, and stream a reply in the
playground, watching the text arrive in pieces; in en, vi and zh-hans. The
playground screenshots in docs/ come from this test."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, ngettext

from providers import services
from providers.models import Provider
from tests.browser.chromium import PNG, in_own_thread, screenshot
from tests.runsh import RunSh, browser_server

pytestmark = pytest.mark.browser

PASSWORD = "pw-browser-12345"
LOCALES = {"en": "en-US", "vi": "vi-VN", "zh-hans": "zh-CN"}
# What the fake answers, and what is asked, per language (multi-byte text streams in pieces too).
PIECES = {
    "en": ["Hello", " from", " the", " quirky", " fake", "."],
    "vi": ["Xin", " chào", " từ", " máy chủ", " cục bộ", "."],
    "zh-hans": ["你好", "，", "我是", "本地", "模型", "。"],  # noqa: RUF001 -- the Chinese comma is the text
}
THOUGHTS = {"en": "Thinking briefly.", "vi": "Suy nghĩ một chút.", "zh-hans": "简单想一想。"}
PROMPTS = {
    "en": ("You are terse.", "Say hello."),
    "vi": ("Trả lời ngắn gọn.", "Chào bạn."),
    "zh-hans": ("请简短回答。", "打个招呼。"),
}


@pytest.fixture
def static_gateway(transactional_db: object) -> Iterator[RunSh]:
    """A run.sh process of its own per test: between tests the database is flushed,
    which resets the configuration version a running gateway compares against (in
    production it only grows), so a shared process could keep the last test's table."""
    with browser_server() as server:
        yield server


def _localized_pattern(msgid: str, language: str, *, plural: str | None = None, n: int = 1,
                       **fixed: Any) -> re.Pattern[str]:
    """The translated message (``ngettext`` when ``plural`` is given) as a regex; placeholders
    not in ``fixed`` match digits, a ``fixed`` value that is a pattern is inserted as a pattern."""
    with translation.override(language):
        text = ngettext(msgid, plural, n) if plural is not None else gettext(msgid)
    parts = re.split(r"(%\(\w+\)s)", text)
    out = ""
    for part in parts:
        m = re.fullmatch(r"%\((\w+)\)s", part)
        if not m:
            out += re.escape(part)
        elif m.group(1) not in fixed:
            out += r"\d+"
        elif isinstance(fixed[m.group(1)], re.Pattern):
            out += fixed[m.group(1)].pattern
        else:
            out += re.escape(str(fixed[m.group(1)]))
    return re.compile(out)


@pytest.mark.parametrize("language", ["en", "vi", "zh-hans"])
def test_onboarding_in_the_browser(static_gateway, quirky, language):
    quirky.piece_delay = 0.25  # slow enough that every piece is painted on its own
    quirky.pieces = PIECES[language]
    quirky.reasoning_text = THOUGHTS[language]
    get_user_model().objects.create_superuser("ops", "ops@example.com", PASSWORD)
    provider = services.provider_create(
        name="quirky", provider_type="custom", base_url=quirky.base_url,
        display_names={"en": "Quirky local server", "vi": "Máy chủ cục bộ", "zh-hans": "本地服务器"},
    )
    base = static_gateway.url
    reachable = _localized_pattern("Reachable in %(latency)s ms; the backend reports %(count)s model.", language,
                                   plural="Reachable in %(latency)s ms; the backend reports %(count)s models.",
                                   n=3, count=3)
    action_line = _localized_pattern("“%(name)s”: %(message)s", language, name="quirky", message=reachable)
    with translation.override(language):
        usage = gettext("prompt %(prompt)s, completion %(completion)s, total %(total)s tokens") % {
            "prompt": 5, "completion": 6, "total": 11}
        done = gettext("Done.")
        stopped = gettext("Stopped.")
    urls = {
        "change": reverse("admin:providers_provider_change", args=[provider.pk]),
        "changelist": reverse("admin:providers_provider_changelist"),
        "fetch_models": reverse("admin:providers_provider_fetch_models", args=[provider.pk]),
        "playground": reverse("admin:providers_provider_playground"),
    }

    in_own_thread(lambda browser: _drive(browser, base, urls, language, provider.pk, reachable, action_line, usage,
                                         done, stopped))

    provider.refresh_from_db()
    assert provider.settings == {"allowed_models": ["qwen3-8b", "slow-text"], "default_model": "slow-text"}
    sent = quirky.requests[-1]  # what the upstream received is what a client's request becomes
    assert sent["model"] == "slow-text"
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    system, prompt = PROMPTS[language]
    assert sent["messages"] == [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
    assert Provider.objects.count() == 1


def _drive(browser: Any, base: str, urls: dict[str, str], language: str, pk: int, reachable: re.Pattern[str],
           action_line: re.Pattern[str], usage: str, done: str, stopped: str) -> None:
    context = browser.new_context(locale=LOCALES[language], extra_http_headers={"Accept-Language": language},
                                  viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(f"{base}/admin/login/?next=/admin/")
        assert page.get_attribute("html", "lang") == language
        page.fill("#id_username", "ops")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{base}/admin/")
        # The admin's CSS is served (so the screenshots look like the admin).
        assert page.evaluate("getComputedStyle(document.getElementById('header')).display") != "inline"

        # Test connection: the button on the change page.
        page.goto(base + urls["change"])
        page.click("#onboarding-test-connection")
        page.wait_for_selector("#connection-result")
        assert page.get_attribute("#connection-result .onboarding-status", "data-ok") == "true"
        message = page.text_content("#connection-message").strip()
        assert reachable.fullmatch(message), message

        # Test connection: the bulk action on the list.
        page.goto(base + urls["changelist"])
        page.check(f"input[name=_selected_action][value='{pk}']")
        page.select_option("select[name=action]", "test_connection_action")
        page.click("button[name=index]")
        page.wait_for_selector("ul.messagelist li")
        line = page.text_content("ul.messagelist li.success").strip()
        assert action_line.fullmatch(line), line

        # Fetch models: what the backend reports; set the allowlist and the default.
        page.goto(base + urls["fetch_models"])
        rows = page.eval_on_selector_all(".model-row", "rows => rows.map(r => r.dataset.model)")
        assert rows == ["qwen3-8b", "slow-text", "llama-3.1-8b"]
        page.check("input[name=allowed][value='qwen3-8b']")
        page.check("input[name=allowed][value='slow-text']")
        page.check("input[name=default_model][value='slow-text']")
        with page.expect_navigation():  # the form posts, then redirects to the change page
            page.click("#save-models")
        page.wait_for_selector("ul.messagelist li.success", state="attached")

        # Playground: the provider's default model is preselected; the answer streams in.
        page.goto(base + urls["playground"] + "?provider=quirky")
        page.wait_for_selector("#pg-model option[value='quirky/slow-text']", state="attached")
        assert page.input_value("#pg-model") == "quirky/slow-text"
        options = page.eval_on_selector_all("#pg-model option", "os => os.map(o => o.value)")
        assert options == ["quirky/qwen3-8b", "quirky/slow-text"]  # the allowlist applies
        system, prompt = PROMPTS[language]
        page.fill("#pg-system", system)
        page.fill("#pg-prompt", prompt)
        page.evaluate("""() => {
            const out = document.getElementById('pg-output');
            window.__seen = [];
            new MutationObserver(() => window.__seen.push(out.textContent))
                .observe(out, {childList: true, characterData: true, subtree: true});
        }""")
        page.click("#pg-send")
        page.wait_for_function("document.getElementById('pg-output').dataset.done === 'true'")
        final = "".join(PIECES[language])
        assert page.text_content("#pg-output") == final
        seen = [s for s in dict.fromkeys(page.evaluate("window.__seen")) if s]
        # The text grew piece by piece (six pieces, a quarter second apart): every state the
        # page showed is a longer prefix of the answer than the one before.
        assert seen[-1] == final
        assert all(final.startswith(s) for s in seen)
        assert [len(s) for s in seen] == sorted({len(s) for s in seen})
        assert len(seen) >= 3, seen
        assert page.text_content("#pg-reasoning") == THOUGHTS[language]
        assert re.fullmatch(r"\d+ \S+", page.text_content("#pg-ttft").strip())
        assert re.fullmatch(r"[\d.]+ \S+", page.text_content("#pg-tps").strip())
        assert page.text_content("#pg-usage").strip() == usage
        assert page.text_content("#pg-status").strip() == done
        assert screenshot(page, f"playground-{language}.png")[:8] == PNG

        # Stop ends the stream where it is.
        page.click("#pg-send")
        page.wait_for_function("document.getElementById('pg-output').textContent.length > 0")
        page.click("#pg-stop")
        page.wait_for_function("document.getElementById('pg-output').dataset.done === 'error'")
        assert page.text_content("#pg-status").strip() == stopped
        partial = page.text_content("#pg-output")
        assert partial and final.startswith(partial) and partial != final
    finally:
        context.close()
