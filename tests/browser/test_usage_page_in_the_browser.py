"""The admin's usage page in a real browser (headless Chromium) against what
``scripts/run.sh`` starts, in en, vi and zh-hans chosen in the admin, for a staff user
who may only read the request log: five charts drawn (SVG, no script), readable at
1280 px (charts side by side) and at 390 px (one column, nothing wider than the screen
but the tables, which scroll inside their box).

With GATEWAY_SCREENSHOTS=1 it writes docs/usage-<language>.png (1280 px) and
docs/usage-narrow-<language>.png (390 px)."""
from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone, translation
from django.utils.translation import gettext

from providers import services
from tests.audit.helpers import staff
from tests.browser.chromium import PNG, in_own_thread, login, screenshot
from tests.usage.rows import row, write

pytestmark = pytest.mark.browser

PASSWORD = "pw-usage-browser-7713"
TRAFFIC = [  # provider, model, key, requests per hour, base latency (ms)
    ("openai", "openai/gpt-4o-mini", "team-search", 14, 600),
    ("vllm-a100", "vllm-a100/qwen2.5-72b", "team-agents", 9, 900),
    ("vllm-a100", "vllm-a100/qwen2.5-7b", "ci-bots", 6, 250),
    ("anthropic", "anthropic/claude-sonnet-4", "team-agents", 4, 1400),
]


def _traffic() -> None:
    """A day of plausible traffic, the same each run."""
    from chat.models import Outcome

    rng, now, rows = random.Random(13), timezone.now(), []
    for hour in range(24):
        start = now - timedelta(hours=24 - hour)
        busy = 0.4 + 0.6 * (8 <= (start.hour + 7) % 24 <= 19)
        for provider, model, key, per_hour, base in TRAFFIC:
            for _ in range(max(1, int(per_hour * busy * rng.uniform(0.7, 1.3)))):
                failed = rng.random() < (0.25 if provider == "anthropic" and 10 <= hour <= 12 else 0.03)
                latency = int(base * rng.lognormvariate(0, 0.35))
                rows.append(row(at=start + timedelta(minutes=rng.uniform(0, 59.9)), provider=provider, key=key,
                                model=model, status=502 if failed else 200, latency=latency,
                                ttft=None if failed else int(latency * rng.uniform(0.15, 0.3)),
                                tokens=(None, None) if failed else (rng.randint(200, 2400), rng.randint(40, 900)),
                                stream=rng.random() < 0.6, **({"outcome": Outcome.UPSTREAM_ERROR} if failed else {})))
    write(rows)


@pytest.mark.parametrize("language", ["en", "vi", "zh-hans"])
def test_usage_page_in_the_browser(gateway, django_user_model, language):
    user = staff(django_user_model, "ops-usage")
    user.set_password(PASSWORD)
    user.save()
    user.user_permissions.add(Permission.objects.get(content_type__app_label="chat", codename="view_requestlog"))
    for provider in sorted({t[0] for t in TRAFFIC}):
        services.provider_create(name=provider, provider_type="custom", base_url="http://127.0.0.1:9/v1",
                                 api_key=f"sk-usage-browser-{provider}-0001")
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="providers",
                                                         codename__in=["view_provider", "view_gatewaykey"]))
    _traffic()
    with translation.override(language):
        title = gettext("Usage")
    base = gateway.url

    seen = in_own_thread(lambda browser: _drive(browser, base, language))
    assert seen["title"].startswith(title)
    for width in (1280, 390):
        at = seen[width]
        assert at["charts"] == 5 and all(w > 250 for w in at["chart_widths"]), at
        assert at["page_width"] <= width, at  # nothing widens the page; wide tables scroll in their box
        assert at["bars"] > 24 and at["points"] > 24, at
        assert at["scripts_in_content"] == 0
    assert seen[1280]["per_row"] >= 2  # side by side on a wide screen
    assert seen[390]["per_row"] == 1  # one column on a phone
    assert seen["provider_list"]["fits"], seen["provider_list"]
    assert len(seen["provider_list"]["cells"]) == 3 and all(seen["provider_list"]["cells"])


def _drive(browser: Any, base: str, language: str) -> dict[str, Any]:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, base, "ops-usage", PASSWORD, language=language)
    with page.expect_navigation():
        page.click("#usage-link a.section")  # from the admin home
    seen: dict[str, Any] = {"title": page.title()}
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900 if width == 1280 else 844})
        seen[width] = page.evaluate("""() => {
            const charts = [...document.querySelectorAll('svg.usage-chart')];
            const figures = [...document.querySelectorAll('.usage-charts figure')];
            const tops = figures.map(f => Math.round(f.getBoundingClientRect().top));
            return {
                charts: charts.length,
                chart_widths: charts.map(c => c.getBoundingClientRect().width),
                per_row: tops.filter(t => t === tops[0]).length,
                page_width: document.documentElement.scrollWidth,
                bars: document.querySelectorAll('svg.usage-chart rect').length,
                points: document.querySelectorAll('svg.usage-chart circle').length,
                scripts_in_content: document.querySelectorAll('#content script').length,
            };
        }""")
        name = f"usage-{language}.png" if width == 1280 else f"usage-narrow-{language}.png"
        assert screenshot(page, name)[:8] == PNG
    # The provider list's last-24 h columns, within the list's box at 1280 px.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/admin/providers/provider/")
    seen["provider_list"] = page.evaluate("""() => ({
        fits: document.querySelector('#result_list').scrollWidth
              <= document.querySelector('#changelist .results').clientWidth,
        cells: [...document.querySelectorAll('#result_list td.field-last_24h .usage-24h-requests')]
               .map(span => span.textContent),
    })""")
    screenshot(page, f"provider-list-usage-{language}.png")
    context.close()
    return seen
