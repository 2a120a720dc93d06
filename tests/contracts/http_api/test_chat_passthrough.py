"""Non-streaming completions and what the upstream receives: the client's body
unchanged except ``model``, the provider's key as a bearer token only when it
has one, and its extra headers."""
from __future__ import annotations

import httpx

from tests.contracts.http_api.helpers import as_requested
from tests.fakes.openai_upstream import completion_for

FULL_BODY = {
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}],
    "tool_choice": "auto",
    "response_format": {"type": "json_object"},
    "temperature": 0.2,
    "seed": 7,
    "n": 1,
    "stop": ["\n\n"],
    "logprobs": False,
    "max_tokens": 64,
    "vendor_extra": {"top_k": 20, "nested": [1, "two", None]},
}


def post(url: str, key: str, body: dict) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=body, timeout=20)


def test_non_streaming_answer_comes_back_unchanged(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url)
    resp = post(live_gateway.url, gateway_key, {"model": "local/text", "messages": [{"role": "user", "content": "hi"}]})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.json() == as_requested(completion_for("text"), "local/text")


def test_non_streaming_tool_call_answer(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url)
    resp = post(live_gateway.url, gateway_key, {"model": "local/tools", "messages": [{"role": "user", "content": "hi"}]})
    assert resp.json() == as_requested(completion_for("tools"), "local/tools")


def test_body_passes_through_with_only_model_rewritten(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url)
    resp = post(live_gateway.url, gateway_key, {"model": "local/text", **FULL_BODY})
    assert resp.status_code == 200
    assert upstream.last().body == {"model": "text", **FULL_BODY}


def test_provider_key_and_extra_headers_reach_the_upstream(live_gateway, make_provider, upstream, gateway_key):
    make_provider(
        name="keyed",
        base_url=upstream.base_url,
        api_key="sk-provider-secret-9876",
        extra_headers={"X-Tenant": "acme", "OpenAI-Organization": "org-1"},
    )
    resp = post(live_gateway.url, gateway_key, {"model": "keyed/text", "messages": [{"role": "user", "content": "hi"}]})
    assert resp.status_code == 200
    headers = upstream.last().headers
    assert headers["authorization"] == "Bearer sk-provider-secret-9876"
    assert headers["x-tenant"] == "acme"
    assert headers["openai-organization"] == "org-1"
    # The client's gateway key never travels upstream, and the provider key never comes back.
    assert gateway_key not in str(headers)
    assert "sk-provider-secret" not in resp.text


def test_no_authorization_upstream_when_the_provider_has_no_key(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="open", base_url=upstream.base_url)
    post(live_gateway.url, gateway_key, {"model": "open/text", "messages": [{"role": "user", "content": "hi"}]})
    assert "authorization" not in upstream.last().headers


def test_streams_ask_for_an_uncompressed_event_stream_and_answers_may_come_compressed(
    live_gateway, make_provider, upstream, gateway_key
):
    make_provider(name="plain", base_url=upstream.base_url)
    body = {"model": "plain/text", "messages": [{"role": "user", "content": "hi"}]}
    post(live_gateway.url, gateway_key, {**body, "stream": True})
    streamed = upstream.last().headers
    assert streamed["accept"] == "text/event-stream"
    assert streamed["accept-encoding"] == "identity"  # no compressor may hold events back
    assert streamed["content-type"] == "application/json"
    post(live_gateway.url, gateway_key, body)
    assert upstream.last().headers["accept-encoding"] == "gzip, deflate"
