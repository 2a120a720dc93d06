"""The inbound surfaces (/v1/messages, /v1/responses, /v1/embeddings) share the
chat completions key checks: requests per minute, tokens per minute (embeddings
usage counted) and a key's provider restriction."""
from __future__ import annotations

import httpx
import pytest

from providers import services

pytestmark = pytest.mark.usefixtures("frozen_window")

MESSAGES = {"max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}


def test_requests_per_minute_count_every_surface(live_gateway, upstream, make_provider):
    make_provider(name="local", base_url=upstream.base_url)
    _key, raw = services.gateway_key_create(name="limited", rate_limit_rpm=3)
    with httpx.Client(base_url=live_gateway.url, timeout=10) as client:
        assert client.post("/v1/messages", headers={"x-api-key": raw}, json={"model": "local/text", **MESSAGES}).status_code == 200
        bearer = {"Authorization": f"Bearer {raw}"}
        assert client.post("/v1/responses", headers=bearer, json={"model": "local/text", "input": "hi"}).status_code == 200
        assert client.post("/v1/embeddings", headers=bearer, json={"model": "local/e", "input": "hi"}).status_code == 200
        limited = client.post("/v1/messages", headers={"x-api-key": raw}, json={"model": "local/text", **MESSAGES})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "30"
    assert limited.json()["type"] == "error" and limited.json()["error"]["type"] == "rate_limit_error"


def test_embeddings_usage_counts_against_tokens_per_minute(live_gateway, upstream, make_provider):
    make_provider(name="local", base_url=upstream.base_url)
    _key, raw = services.gateway_key_create(name="tpm", rate_limit_tpm=5)
    bearer = {"Authorization": f"Bearer {raw}"}
    with httpx.Client(base_url=live_gateway.url, timeout=10) as client:
        first = client.post("/v1/embeddings", headers=bearer, json={"model": "local/e", "input": "one two three four five six"})
        assert first.status_code == 200 and first.json()["usage"]["total_tokens"] == 6
        second = client.post("/v1/embeddings", headers=bearer, json={"model": "local/e", "input": "x"})
    assert second.status_code == 429 and second.json()["error"]["code"] == "rate_limit_exceeded"


def test_provider_restriction_applies(live_gateway, upstream, make_provider):
    allowed = make_provider(name="local", base_url=upstream.base_url)
    make_provider(name="other", base_url=upstream.base_url)
    _key, raw = services.gateway_key_create(name="narrow", providers=[allowed])
    with httpx.Client(base_url=live_gateway.url, timeout=10) as client:
        denied = client.post("/v1/messages", headers={"x-api-key": raw}, json={"model": "other/text", **MESSAGES})
        assert denied.status_code == 404 and denied.json()["error"]["type"] == "not_found_error"
        denied = client.post("/v1/embeddings", headers={"Authorization": f"Bearer {raw}"},
                             json={"model": "other/e", "input": "x"})
        assert denied.status_code == 404 and denied.json()["error"]["code"] == "model_not_found"
    assert upstream.requests == []
