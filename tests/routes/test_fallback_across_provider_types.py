"""A route whose ``custom`` target fails before the first byte falls back to an
``anthropic`` target, and the client still gets the OpenAI shape: chat completion
chunks carrying the route name, ending with ``[DONE]``, through the official SDK."""
from __future__ import annotations

import pytest

from providers.routes import services as route_services
from tests.contracts.http_api.helpers import HI, chat_over_http, sdk_client


@pytest.fixture
def mixed_route(make_provider, upstream, anthropic_upstream):
    make_provider(name="local", base_url=upstream.base_url)
    make_provider(name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url,
                  api_key="sk-ant-upstream-secret-5555")
    route_services.route_create(name="chat-default", targets=route_services.targets_from_names([
        {"provider": "local", "model": "status-503", "priority": 0},
        {"provider": "claude", "model": "text", "priority": 1},
    ]))
    return anthropic_upstream


def test_stream_falls_back_from_custom_to_anthropic_in_openai_shape(mixed_route, upstream, live_gateway, gateway_key):
    content_type, chunks = chat_over_http(live_gateway, gateway_key, "chat-default", stream=True, usage=True)
    assert content_type.startswith("text/event-stream")
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert {c["model"] for c in chunks} == {"chat-default"}
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "Hello from fake"
    assert chunks[-1]["usage"]["total_tokens"] == 18
    assert [r.body["model"] for r in upstream.requests] == ["status-503"]
    assert mixed_route.message_requests()[-1].body["model"] == "text"


def test_the_sdk_sees_one_ordinary_answer(mixed_route, live_gateway, gateway_key):
    with sdk_client(live_gateway, gateway_key, timeout=20) as client:
        answer = client.chat.completions.create(model="chat-default", messages=HI)
        chunks = list(client.chat.completions.create(model="chat-default", messages=HI, stream=True))
    assert answer.model == "chat-default"
    assert answer.choices[0].message.content == "Hello from fake"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert {c.model for c in chunks} == {"chat-default"}
