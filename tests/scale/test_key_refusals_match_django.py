"""An expired key, a model outside a key's allowlist and a spent budget are
refused by the raw ASGI fast path with exactly the status, headers and body that
Django's own handler gives (in every language), and ``/v1/models`` filtered by an
allowlist is the same list through both."""
from __future__ import annotations

import asyncio
import calendar
from datetime import timedelta

import pytest
from django.utils import timezone

from providers import services
from tests.scale.doors import both, chat_body

FROZEN_NOW = float(calendar.timegm((2026, 11, 30, 23, 59, 30)))


@pytest.fixture(autouse=True)
def frozen_window(limits_clock):
    limits_clock(FROZEN_NOW)


def _key(**controls) -> str:
    return services.gateway_key_create(name="controlled", **controls)[1]


@pytest.mark.parametrize("language", ["en", "vi", "zh-CN"])
async def test_expired_key_refusal_matches_django(apps, transactional_db, language):
    def make() -> str:
        key, raw = services.gateway_key_create(name="old", expires_at=timezone.now() + timedelta(days=1))
        services.gateway_key_update(key=key, all_providers=True, providers=[],
                                    expires_at=timezone.now() - timedelta(days=1))
        return raw

    raw = await asyncio.to_thread(make)
    headers = {"Authorization": f"Bearer {raw}", "Accept-Language": language}
    for method, path, body in (("POST", "/v1/chat/completions", chat_body("local/text")), ("GET", "/v1/models", b"")):
        got, expected = await both(apps, method, path, headers, body)
        assert got == expected
        assert got[0] == 401 and b'"key_expired"' in got[2]


async def test_allowlist_refusal_and_model_list_match_django(apps, transactional_db, make_provider, upstream):
    await asyncio.to_thread(make_provider, name="local", base_url=upstream.base_url)
    raw = await asyncio.to_thread(_key, allowed_models=["local/text"])
    headers = {"Authorization": f"Bearer {raw}"}
    got, expected = await both(apps, "POST", "/v1/chat/completions", headers, chat_body("local/tools", stream=True))
    assert got == expected and got[0] == 404 and b'"model_not_found"' in got[2]
    got, expected = await both(apps, "GET", "/v1/models", headers)
    assert got == expected and b'"local/text"' in got[2] and b'"local/tools"' not in got[2]


async def test_quota_refusal_matches_django(apps, transactional_db, make_provider, upstream):
    await asyncio.to_thread(make_provider, name="local", base_url=upstream.base_url)
    raw = await asyncio.to_thread(_key, requests_per_month=1)
    headers = {"Authorization": f"Bearer {raw}", "Accept-Language": "vi"}
    got, expected = await both(apps, "POST", "/v1/chat/completions", headers, chat_body("local/text"))
    assert got[0] == 200 and expected[0] == 429  # the fast path spent the month's one request
    got, expected = await both(apps, "POST", "/v1/chat/completions", headers, chat_body("local/text"))
    assert got == expected
    assert got[0] == 429 and ("retry-after", "30") in got[1] and b'"quota_exceeded"' in got[2]
