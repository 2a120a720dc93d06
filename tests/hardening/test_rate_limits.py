"""Rate limits per gateway key: requests and tokens per minute, from settings or
per key, counted in the cache (shared across processes with Redis), answered 429
in the OpenAI shape with Retry-After."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types
import uuid

import httpx
import pytest
from django.core.cache import cache
from django.test import override_settings

from chat import limits
from providers import services
from tests import outside
from tests.hardening.conftest import FROZEN_NOW

pytestmark = pytest.mark.usefixtures("frozen_window")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _chat(client: httpx.Client, key: str, model: str, **extra) -> httpx.Response:
    return client.post(
        "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
        json={"model": model, "messages": [{"role": "user", "content": "hi"}], **extra},
    )


def _assert_limited(resp: httpx.Response, what: str) -> None:
    assert resp.status_code == 429, resp.text
    assert resp.headers["retry-after"] == "30"
    body = resp.json()
    assert body == {"error": {"message": body["error"]["message"], "type": "rate_limit_error", "param": None,
                              "code": "rate_limit_exceeded"}}
    assert what in body["error"]["message"]


def test_requests_per_minute_per_key(live_gateway, upstream, make_provider):
    make_provider(name="local", base_url=upstream.base_url)
    _limited, limited_key = services.gateway_key_create(name="limited", rate_limit_rpm=3)
    _free, free_key = services.gateway_key_create(name="free")
    with httpx.Client(base_url=live_gateway.url, timeout=10) as client:
        for _ in range(3):
            assert _chat(client, limited_key, "local/text").status_code == 200
        _assert_limited(_chat(client, limited_key, "local/text"), "3 requests per minute")
        _assert_limited(_chat(client, limited_key, "local/text", stream=True), "3 requests per minute")
        # Other keys are not affected.
        for _ in range(5):
            assert _chat(client, free_key, "local/text").status_code == 200
    assert len(upstream.requests) == 3 + 5  # refused requests never reached the upstream


def test_requests_per_minute_from_settings_and_key_override(live_gateway, upstream, make_provider):
    make_provider(name="local", base_url=upstream.base_url)
    _default, default_key = services.gateway_key_create(name="default")
    _vip, vip_key = services.gateway_key_create(name="vip", rate_limit_rpm=0)
    with override_settings(GATEWAY_RATE_LIMIT_RPM=2), httpx.Client(base_url=live_gateway.url, timeout=10) as client:
        assert _chat(client, default_key, "local/text").status_code == 200
        assert _chat(client, default_key, "local/text").status_code == 200
        _assert_limited(_chat(client, default_key, "local/text"), "2 requests per minute")
        for _ in range(4):  # 0 on the key means unlimited, whatever the default
            assert _chat(client, vip_key, "local/text").status_code == 200


def test_tokens_per_minute_counts_reported_usage(live_gateway, upstream, make_provider):
    make_provider(name="local", base_url=upstream.base_url)
    _key, raw = services.gateway_key_create(name="tokens", rate_limit_tpm=10)
    with httpx.Client(base_url=live_gateway.url, timeout=10) as client:
        # The fake reports usage.total_tokens = 8 for each answer.
        assert _chat(client, raw, "local/text").status_code == 200
        assert cache.get(f"gw:rl:t:{_key.pk}:{int(FROZEN_NOW // 60)}") == 8
        resp = _chat(client, raw, "local/text", stream=True, stream_options={"include_usage": True})
        assert resp.status_code == 200 and resp.text.endswith("data: [DONE]\n\n")
        assert cache.get(f"gw:rl:t:{_key.pk}:{int(FROZEN_NOW // 60)}") == 16
        _assert_limited(_chat(client, raw, "local/text"), "10 tokens per minute")


def test_tokens_are_estimated_when_the_upstream_reports_none(live_gateway, upstream, make_provider):
    make_provider(name="local", base_url=upstream.base_url)
    key, raw = services.gateway_key_create(name="tokens", rate_limit_tpm=100_000)
    with httpx.Client(base_url=live_gateway.url, timeout=10) as client:
        resp = _chat(client, raw, "local/text", stream=True)  # no usage chunk
        assert resp.status_code == 200
    assert cache.get(f"gw:rl:t:{key.pk}:{int(FROZEN_NOW // 60)}") > 0


def test_a_new_window_starts_a_new_count(live_gateway, upstream, make_provider, monkeypatch):
    make_provider(name="local", base_url=upstream.base_url)
    _key, raw = services.gateway_key_create(name="limited", rate_limit_rpm=1)
    with httpx.Client(base_url=live_gateway.url, timeout=10) as client:
        assert _chat(client, raw, "local/text").status_code == 200
        assert _chat(client, raw, "local/text").status_code == 429
        monkeypatch.setattr(limits, "time", types.SimpleNamespace(time=lambda: FROZEN_NOW + 60))
        assert _chat(client, raw, "local/text").status_code == 200


@pytest.mark.redis
def test_limits_are_shared_across_processes_through_redis(live_gateway, upstream, make_provider):
    url = outside.redis_url()
    prefix = f"h-harden-{uuid.uuid4().hex}"
    caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": prefix}}
    make_provider(name="local", base_url=upstream.base_url)
    key, raw = services.gateway_key_create(name="shared", rate_limit_rpm=4)
    # Another gateway process spends three of the four requests of this window.
    script = textwrap.dedent(
        f"""
        import asyncio, types, django
        django.setup()
        from chat import limits
        from providers.routing import KeyInfo
        limits.time = types.SimpleNamespace(time=lambda: {FROZEN_NOW!r})
        key = KeyInfo(id={key.pk}, name="shared", provider_ids=None, rate_limit_rpm=4, rate_limit_tpm=None)
        for _ in range(3):
            asyncio.run(limits.admit(key))
        print("spent")
        """
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "gateway.settings", "REDIS_URL": url,
           "GATEWAY_CACHE_PREFIX": prefix, "GATEWAY_TESTING": "1"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "spent"
    with override_settings(CACHES=caches), httpx.Client(base_url=live_gateway.url, timeout=10) as client:
        try:
            assert _chat(client, raw, "local/text").status_code == 200
            _assert_limited(_chat(client, raw, "local/text"), "4 requests per minute")
        finally:
            # Only this test's counter: clear() would flush the whole shared Redis database.
            cache.delete(f"gw:rl:r:{key.pk}:{int(FROZEN_NOW // 60)}")


def test_an_unreachable_cache_lets_requests_through_and_says_so(live_gateway, upstream, make_provider, caplog):
    # Port 9 (discard) is closed on loopback: every cache call fails at once.
    caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": "redis://127.0.0.1:9/0"}}
    make_provider(name="local", base_url=upstream.base_url)
    _key, raw = services.gateway_key_create(name="limited", rate_limit_rpm=1)
    with override_settings(CACHES=caches), httpx.Client(base_url=live_gateway.url, timeout=10) as client:
        assert _chat(client, raw, "local/text").status_code == 200
        assert _chat(client, raw, "local/text").status_code == 200
    assert any("rate limit counters unavailable" in r.getMessage() for r in caplog.records)


def test_usage_is_read_from_answers_and_stream_frames():
    assert limits.usage_tokens(b'{"choices": [], "usage": {"prompt_tokens": 5, "total_tokens": 12}}') == 12
    frame = b'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}\n\n'
    assert limits.usage_tokens(frame) == 8
    assert limits.usage_tokens(b'data: {"choices":[{"delta":{"content":"total_tokens: 99"}}]}\n\n') is None
    assert limits.estimate_tokens(4000) == 1000 and limits.estimate_tokens(0) == 1
