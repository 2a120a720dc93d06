"""Per-provider request shaping from settings, as the upstream sees it: dropped
parameters, added body parameters, extra query parameters."""
from __future__ import annotations

import httpx
import pytest

MESSAGES = [{"role": "user", "content": "hi"}]


def post(url: str, key: str, body: dict) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=body, timeout=20)


@pytest.mark.parametrize("stream", [False, True])
def test_shaping_settings_reach_the_upstream(live_gateway, make_provider, upstream, gateway_key, stream):
    make_provider(
        name="shaped",
        base_url=upstream.base_url,
        settings={
            "drop_params": ["stream_options", "reasoning_effort"],
            "extra_body": {"enable_thinking": False, "top_k": 20},
            "extra_query": {"api-version": "2024-10-21"},
        },
    )
    body = {
        "model": "shaped/text",
        "stream": stream,
        "stream_options": {"include_usage": True},
        "reasoning_effort": "high",
        "top_k": 5,  # the client's own value wins over the provider's extra_body
        "messages": MESSAGES,
    }
    resp = post(live_gateway.url, gateway_key, body)
    assert resp.status_code == 200
    seen = upstream.last()
    assert seen.query == {"api-version": "2024-10-21"}
    assert seen.body == {"model": "text", "stream": stream, "top_k": 5, "enable_thinking": False, "messages": MESSAGES}


def test_extra_query_applies_to_model_listing(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="shaped", base_url=upstream.base_url, settings={"extra_query": {"api-version": "2024-10-21"}})
    resp = httpx.get(f"{live_gateway.url}/v1/models", headers={"Authorization": f"Bearer {gateway_key}"})
    assert resp.status_code == 200
    models_calls = [r for r in upstream.requests if r.path == "/v1/models"]
    assert models_calls and models_calls[-1].query == {"api-version": "2024-10-21"}
