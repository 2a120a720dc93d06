"""The same request to a ``custom`` and to an ``openai`` provider behind the same
upstream gives streams identical in shape, chunk by chunk."""
from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.fakes.openai_upstream import sse_data


def shape(value: Any) -> Any:
    """Keys and JSON types at every level (values themselves may differ)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def events(url: str, key: str, body: dict) -> list[str]:
    with httpx.Client(base_url=url, timeout=20) as client:
        with client.stream("POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=body) as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            return sse_data(resp.read().decode())


@pytest.mark.parametrize("model", ["text", "tools", "reasoning"])
def test_custom_and_openai_providers_stream_identically(live_gateway, make_provider, upstream, gateway_key, model):
    make_provider(name="mine", provider_type="custom", base_url=upstream.base_url)
    make_provider(name="oai", provider_type="openai", base_url=upstream.base_url, api_key="sk-openai-test-0001")
    body = {"stream": True, "stream_options": {"include_usage": True}, "messages": [{"role": "user", "content": "hi"}]}
    custom = events(live_gateway.url, gateway_key, {**body, "model": f"mine/{model}"})
    openai = events(live_gateway.url, gateway_key, {**body, "model": f"oai/{model}"})
    assert len(custom) == len(openai) > 2
    assert custom[-1] == openai[-1] == "[DONE]"
    for a, b in zip(custom[:-1], openai[:-1], strict=False):
        assert shape(json.loads(a)) == shape(json.loads(b))
    # Behind the same upstream the streams are not just alike in shape but equal
    # (but for the model id, which is the one each client asked for).
    assert [c.replace(f'"mine/{model}"', f'"oai/{model}"') for c in custom] == openai
