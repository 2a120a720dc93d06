"""/v1/messages to an ``anthropic`` provider passes the Messages request through
untranslated (the fake Anthropic upstream checks it like the real API), relays
its answers and stream as they are, and counts tokens exactly."""
from __future__ import annotations

import json

import anthropic
import pytest

from tests.fakes.anthropic_upstream import USAGE_IN, USAGE_OUT, stream_events

HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def claude(make_provider, anthropic_upstream):
    make_provider(name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url,
                  api_key="sk-ant-provider-secret")
    return anthropic_upstream


@pytest.fixture
def client(live_gateway, gateway_key):
    with anthropic.Anthropic(base_url=live_gateway.url, api_key=gateway_key, max_retries=0, timeout=20) as sdk:
        yield sdk


def test_request_reaches_upstream_untranslated(client, claude):
    system = [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
    message = client.messages.create(model="claude/text", max_tokens=32, system=system, messages=HI,
                                     extra_headers={"anthropic-beta": "prompt-caching-2024-07-31"})
    assert message.content[0].text == "Hello from fake"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (USAGE_IN, USAGE_OUT)
    seen = claude.message_requests()[-1]
    assert seen.body == {"model": "text", "max_tokens": 32, "system": system, "messages": HI}
    assert seen.headers["x-api-key"] == "sk-ant-provider-secret"
    assert seen.headers["anthropic-beta"] == "prompt-caching-2024-07-31"


def test_stream_is_the_upstream_events_unchanged(client, claude):
    with client.messages.with_streaming_response.create(model="claude/thinking", max_tokens=32, messages=HI,
                                                        stream=True) as raw:
        names = [line.split(": ", 1)[1] for line in raw.iter_lines() if line.startswith("event: ")]
    assert names == [name for name, _data in stream_events("thinking", {})]


def test_upstream_error_keeps_its_anthropic_type(client, claude):
    with pytest.raises(anthropic.RateLimitError) as info:
        client.messages.create(model="claude/status-429", max_tokens=8, messages=HI)
    assert info.value.body["error"]["type"] == "rate_limit_error"
    assert "sk-ant-provider-secret" not in info.value.response.text


def test_count_tokens_is_exact_from_the_upstream(client, claude):
    raw = client.messages.with_raw_response.count_tokens(model="claude/text", messages=HI)
    assert raw.headers["x-gateway-token-count"] == "exact"
    assert raw.parse().input_tokens == USAGE_IN
    assert claude.requests[-1].path == "/v1/messages/count_tokens"


def test_upstream_dropping_mid_stream_ends_with_an_error_event(live_gateway, gateway_key, claude):
    import httpx

    with httpx.Client(base_url=live_gateway.url, timeout=20) as http:
        resp = http.post("/v1/messages", headers={"x-api-key": gateway_key, "anthropic-version": "2023-06-01"},
                         json={"model": "claude/drop", "max_tokens": 8, "stream": True, "messages": HI})
    assert resp.status_code == 200
    assert resp.text.startswith("event: message_start")
    last = resp.text.strip().split("\n\n")[-1]
    assert last.startswith("event: error\ndata: ")
    assert json.loads(last.split("data: ", 1)[1])["type"] == "error"
