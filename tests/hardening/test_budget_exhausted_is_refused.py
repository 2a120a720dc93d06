"""A key over its daily or monthly budget (requests or tokens, UTC calendar
windows) is refused with 429, code ``quota_exceeded``, the budget it hit and when
it resets (``resets_at`` and ``Retry-After``), on every /v1 surface and both
request paths; refused requests never reach the upstream. Token budgets are
settled from the usage the (loopback) upstream reports, not from the estimate
reserved at admission."""
from __future__ import annotations

import calendar

import httpx
import pytest
from django.core.cache import cache

from providers import services

# 30 seconds before both a UTC day and a UTC month end: every request of a test
# falls in one window and the Retry-After is known exactly.
FROZEN_NOW = float(calendar.timegm((2026, 11, 30, 23, 59, 30)))
DAY, MONTH = "20261130", "202611"
RESETS_AT = "2026-12-01T00:00:00Z"
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(autouse=True)
def frozen_window(limits_clock):
    limits_clock(FROZEN_NOW)


def _chat(client: httpx.Client, raw: str, model: str = "local/text", **extra) -> httpx.Response:
    return client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {raw}"},
                       json={"model": model, "messages": MESSAGES, **extra})


def _assert_quota(response: httpx.Response, quota: str, limit: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == "30"
    error = response.json()["error"]
    assert error == {"message": error["message"], "type": "rate_limit_error", "param": None,
                     "code": "quota_exceeded", "quota": quota, "resets_at": RESETS_AT}
    assert str(limit) in error["message"] and RESETS_AT in error["message"]


def test_requests_per_day_budget(any_gateway, upstream, make_provider):
    make_provider(name="local", base_url=upstream.base_url)
    _key, raw = services.gateway_key_create(name="daily", requests_per_day=2)
    _other, other = services.gateway_key_create(name="other", requests_per_day=2)
    with httpx.Client(base_url=any_gateway.url, timeout=10) as client:
        assert _chat(client, raw).status_code == 200
        assert _chat(client, raw, stream=True).status_code == 200
        _assert_quota(_chat(client, raw), "requests_per_day", 2)
        _assert_quota(_chat(client, raw, stream=True), "requests_per_day", 2)
        assert _chat(client, other).status_code == 200  # budgets are per key
    assert len(upstream.requests) == 3


def test_requests_per_month_budget(any_gateway, upstream, make_provider):
    make_provider(name="local", base_url=upstream.base_url)
    _key, raw = services.gateway_key_create(name="monthly", requests_per_month=1, requests_per_day=100)
    with httpx.Client(base_url=any_gateway.url, timeout=10) as client:
        assert _chat(client, raw).status_code == 200
        _assert_quota(_chat(client, raw), "requests_per_month", 1)
    # The refused request was given back to the daily count too: only admitted requests count.
    assert cache.get(f"gw:bq:r:{_key.pk}:{DAY}") == 1


def test_token_budget_is_settled_from_reported_usage(any_gateway, upstream, make_provider):
    make_provider(name="local", base_url=upstream.base_url)
    key, raw = services.gateway_key_create(name="tokens", tokens_per_day=20, tokens_per_month=1000)
    with httpx.Client(base_url=any_gateway.url, timeout=10) as client:
        # The fake upstream reports usage.total_tokens = 8 per answer; the estimate reserved at
        # admission (the default completion allowance) is far above 20, so only settling lets these in.
        assert _chat(client, raw).status_code == 200
        assert cache.get(f"gw:bq:t:{key.pk}:{DAY}") == 8
        streamed = _chat(client, raw, stream=True, stream_options={"include_usage": True})
        assert streamed.status_code == 200 and streamed.text.endswith("data: [DONE]\n\n")
        assert cache.get(f"gw:bq:t:{key.pk}:{DAY}") == 16
        assert _chat(client, raw).status_code == 200  # 16 used, under 20: admitted, may overshoot
        assert cache.get(f"gw:bq:t:{key.pk}:{DAY}") == 24
        assert cache.get(f"gw:bq:t:{key.pk}:{MONTH}") == 24
        _assert_quota(_chat(client, raw), "tokens_per_day", 20)
    assert cache.get(f"gw:bq:t:{key.pk}:{DAY}") == 24  # the refused request's reservation was given back


def test_every_inbound_surface_counts_and_is_refused(any_gateway, upstream, make_provider):
    make_provider(name="local", base_url=upstream.base_url)
    _key, raw = services.gateway_key_create(name="surfaces", requests_per_day=3)
    bearer = {"Authorization": f"Bearer {raw}"}
    with httpx.Client(base_url=any_gateway.url, timeout=10) as client:
        assert client.post("/v1/messages", headers={"x-api-key": raw},
                           json={"model": "local/text", "max_tokens": 8, "messages": MESSAGES}).status_code == 200
        for path, body in (("/v1/responses", {"model": "local/text", "input": "hi"}),
                           ("/v1/embeddings", {"model": "local/e", "input": "hi"})):
            assert client.post(path, headers=bearer, json=body).status_code == 200
        anthropic = client.post("/v1/messages", headers={"x-api-key": raw},
                                json={"model": "local/text", "max_tokens": 8, "messages": MESSAGES})
        assert anthropic.status_code == 429 and anthropic.headers["retry-after"] == "30"
        assert anthropic.json()["type"] == "error" and anthropic.json()["error"]["type"] == "rate_limit_error"
        assert RESETS_AT in anthropic.json()["error"]["message"]
        _assert_quota(client.post("/v1/responses", headers=bearer, json={"model": "local/text", "input": "hi"}),
                      "requests_per_day", 3)
        _assert_quota(client.post("/v1/embeddings", headers=bearer, json={"model": "local/e", "input": "hi"}),
                      "requests_per_day", 3)


def test_embeddings_usage_counts_against_token_budgets(any_gateway, upstream, make_provider):
    make_provider(name="local", base_url=upstream.base_url)
    key, raw = services.gateway_key_create(name="embed", tokens_per_month=6)
    bearer = {"Authorization": f"Bearer {raw}"}
    with httpx.Client(base_url=any_gateway.url, timeout=10) as client:
        first = client.post("/v1/embeddings", headers=bearer,
                            json={"model": "local/e", "input": "one two three four five six"})
        assert first.status_code == 200 and first.json()["usage"]["total_tokens"] == 6
        assert cache.get(f"gw:bq:t:{key.pk}:{MONTH}") == 6
        _assert_quota(client.post("/v1/embeddings", headers=bearer, json={"model": "local/e", "input": "x"}),
                      "tokens_per_month", 6)


def test_openai_sdk_sees_a_rate_limit_error_with_the_quota_and_reset(live_gateway, upstream, make_provider):
    import openai

    make_provider(name="local", base_url=upstream.base_url)
    _key, raw = services.gateway_key_create(name="sdk", requests_per_day=1)
    client = openai.OpenAI(base_url=f"{live_gateway.url}/v1", api_key=raw, max_retries=0, timeout=10)
    client.chat.completions.create(model="local/text", messages=MESSAGES)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="local/text", messages=MESSAGES)
    assert caught.value.code == "quota_exceeded"
    assert caught.value.body["quota"] == "requests_per_day" and caught.value.body["resets_at"] == RESETS_AT
    assert caught.value.response.headers["retry-after"] == "30"
