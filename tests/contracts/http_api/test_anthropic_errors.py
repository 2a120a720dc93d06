"""Anthropic failures reach OpenAI clients as OpenAI-shaped errors (the SDK's own
error classes), before a stream starts and in the middle of one; no secret leaks."""
from __future__ import annotations

import httpx
import openai
import pytest

from tests.contracts.http_api.helpers import ask, chunks_before_error, sdk_client, text_of

SECRET = "sk-ant-upstream-secret-5555"


@pytest.fixture
def claude(make_provider, anthropic_upstream):
    make_provider(name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url, api_key=SECRET)
    return anthropic_upstream


@pytest.fixture
def client(live_gateway, gateway_key):
    with sdk_client(live_gateway, gateway_key, timeout=20) as c:
        yield c


@pytest.mark.parametrize(("status", "error_class", "client_status", "etype"), [
    (400, openai.BadRequestError, 400, "invalid_request_error"),
    (401, openai.AuthenticationError, 401, "authentication_error"),
    (429, openai.RateLimitError, 429, "rate_limit_error"),
    (500, openai.InternalServerError, 502, "upstream_error"),
    (529, openai.InternalServerError, 502, "upstream_error"),
])
@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_http_errors_become_openai_errors(claude, client, status, error_class, client_status, etype, stream):
    with pytest.raises(error_class) as info:
        ask(client, f"claude/status-{status}", stream=stream)
    err = info.value
    assert err.status_code == client_status
    assert err.body["type"] == etype
    assert f"fake says {status}" in err.body["message"]
    assert set(err.body) == {"message", "type", "param", "code"}
    assert SECRET not in err.response.text
    if status == 429:
        assert err.response.headers["retry-after"] == "7"


def test_anthropic_validation_error_message_reaches_the_client(claude, client):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="claude/text", messages=[
            {"role": "user", "content": "hi"},
            {"role": "tool", "tool_call_id": "toolu_nowhere", "content": "x"},
        ])
    assert "tool_use_id" in info.value.body["message"]


def test_anthropic_untranslatable_request_is_a_400_before_any_upstream_call(claude, client):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="claude/text", messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "ftp://example.com/x.png"}}]}])
    assert info.value.body["param"] == "messages[0].content[0]"
    assert claude.message_requests() == []


def test_anthropic_error_event_mid_stream_is_reported_by_the_sdk(claude, client):
    received, error = chunks_before_error(client, "claude/error-event")
    assert received[0].choices[0].delta.role == "assistant"
    assert "Overloaded" in error.message


def test_anthropic_error_event_frame_is_openai_shaped(claude, live_gateway, gateway_key):
    resp = httpx.post(live_gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {gateway_key}"},
                      json={"model": "claude/error-event", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
                      timeout=20)
    assert resp.status_code == 200
    frames = [f for f in resp.text.split("\n\n") if f]
    assert frames[-1].startswith('data: {"error"')
    import json
    error = json.loads(frames[-1][6:])["error"]
    assert error == {"message": "Overloaded", "type": "overloaded_error", "param": None, "code": "overloaded_error"}


def test_anthropic_unreachable_upstream_is_502(make_provider, client):
    from tests.conftest import free_port

    make_provider(name="gone", provider_type="anthropic", base_url=f"http://127.0.0.1:{free_port()}/v1", api_key=SECRET)
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="gone/text", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 502
    assert SECRET not in info.value.response.text


def test_anthropic_client_disconnect_closes_the_upstream(claude, live_gateway, gateway_key):
    import time

    with httpx.Client(base_url=live_gateway.url, timeout=20) as http:
        with http.stream("POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {gateway_key}"},
                         json={"model": "claude/stall", "stream": True, "messages": [{"role": "user", "content": "hi"}]}) as resp:
            assert resp.status_code == 200
            chunks = resp.iter_bytes()  # kept referenced: a dropped iterator closes the response
            next(chunks)
    deadline = time.monotonic() + 10
    while not claude.disconnects and time.monotonic() < deadline:
        time.sleep(0.02)
    assert claude.disconnects, "the upstream stream was not closed after the client left"


def test_anthropic_stream_cut_before_message_stop_ends_with_an_error(claude, client):
    received, _error = chunks_before_error(client, "claude/drop")
    assert text_of(received) == "Hello"


def test_anthropic_read_timeout_is_504_before_the_stream_and_an_error_event_after(make_provider, anthropic_upstream, client):
    make_provider(name="slowpoke", provider_type="anthropic", base_url=anthropic_upstream.base_url, api_key=SECRET,
                  settings={"read_timeout": 0.5})
    anthropic_upstream.slow_seconds = 3.0
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="slowpoke/slow", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 504
    stream = client.chat.completions.create(model="slowpoke/stall", stream=True, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.APIError) as info:
        list(stream)
    assert "in time" in info.value.message
