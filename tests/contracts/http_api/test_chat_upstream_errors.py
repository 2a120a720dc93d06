"""Upstream failures reach the client in OpenAI's error shape: 4xx keep their
status and message, 5xx and unreachable become 502, timeouts 504; once a stream
has started, a failure ends it with an error event (never a silent truncation)."""
from __future__ import annotations

import json
import socket

import httpx
import pytest

from tests.fakes.openai_upstream import sse_data

MESSAGES = [{"role": "user", "content": "hi"}]


def post(url: str, key: str, body: dict) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=body, timeout=20)


def assert_openai_error(resp: httpx.Response) -> dict:
    body = resp.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


@pytest.fixture
def local(make_provider, upstream):
    return make_provider(name="local", base_url=upstream.base_url, settings={"read_timeout": 1.5})


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("status", "etype"), [(400, "fake_error"), (401, "fake_error"), (404, "fake_error"), (429, "fake_error")]
)
def test_upstream_4xx_keeps_status_and_message(live_gateway, local, gateway_key, status, etype, stream):
    resp = post(live_gateway.url, gateway_key, {"model": f"local/status-{status}", "stream": stream, "messages": MESSAGES})
    assert resp.status_code == status
    assert resp.headers["content-type"] == "application/json"
    assert assert_openai_error(resp) == {
        "message": f"fake says {status}", "type": etype, "param": None, "code": f"fake_{status}",
    }


def test_upstream_429_keeps_retry_after(live_gateway, local, gateway_key):
    resp = post(live_gateway.url, gateway_key, {"model": "local/status-429", "messages": MESSAGES})
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "7"


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_5xx_becomes_502_with_its_message(live_gateway, local, gateway_key, stream):
    resp = post(live_gateway.url, gateway_key, {"model": "local/status-500", "stream": stream, "messages": MESSAGES})
    assert resp.status_code == 502
    error = assert_openai_error(resp)
    assert "fake says 500" in error["message"]
    assert error["type"] == "upstream_error"


@pytest.mark.parametrize(("status", "expected"), [(400, 400), (503, 502)])
def test_error_bodies_not_in_openai_shape_still_give_an_openai_error(live_gateway, local, gateway_key, status, expected):
    resp = post(live_gateway.url, gateway_key, {"model": f"local/plain-{status}", "messages": MESSAGES})
    assert resp.status_code == expected
    assert f"plain failure {status}" in assert_openai_error(resp)["message"]


@pytest.mark.parametrize("stream", [False, True])
def test_unreachable_upstream_is_502(live_gateway, make_provider, gateway_key, stream):
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    make_provider(name="dead", base_url=f"http://127.0.0.1:{port}/v1")
    resp = post(live_gateway.url, gateway_key, {"model": "dead/text", "stream": stream, "messages": MESSAGES})
    assert resp.status_code == 502
    assert assert_openai_error(resp)["code"] == "upstream_unreachable"


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_timeout_is_504(live_gateway, local, gateway_key, upstream, stream):
    upstream.slow_seconds = 8.0  # beyond the provider's read_timeout of 1.5 s
    resp = post(live_gateway.url, gateway_key, {"model": "local/slow", "stream": stream, "messages": MESSAGES})
    assert resp.status_code == 504
    error = assert_openai_error(resp)
    assert error["type"] == "timeout_error"
    assert error["code"] == "upstream_timeout"


def stream_events(url: str, key: str, model: str) -> list[str]:
    with httpx.Client(base_url=url, timeout=20) as client:
        with client.stream(
            "POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
            json={"model": model, "stream": True, "messages": MESSAGES},
        ) as resp:
            assert resp.status_code == 200
            return sse_data(resp.read().decode())


def test_error_event_inside_a_200_stream_is_relayed_as_an_openai_error_event(live_gateway, local, gateway_key):
    events = stream_events(live_gateway.url, gateway_key, "local/error-event")
    assert json.loads(events[0])["object"] == "chat.completion.chunk"
    last = json.loads(events[-1])
    assert last["error"]["message"] == "model overloaded"
    assert last["error"]["code"] == "overloaded"
    assert "[DONE]" not in events


def test_mid_stream_drop_ends_with_an_error_event(live_gateway, local, gateway_key):
    events = stream_events(live_gateway.url, gateway_key, "local/drop")
    chunks = [json.loads(e) for e in events]
    assert [c["object"] for c in chunks[:2]] == ["chat.completion.chunk"] * 2
    assert chunks[-1]["error"]["code"] == "upstream_disconnected"
    assert set(chunks[-1]["error"]) == {"message", "type", "param", "code"}


def test_mid_stream_read_timeout_ends_with_a_timeout_error_event(live_gateway, local, gateway_key):
    events = stream_events(live_gateway.url, gateway_key, "local/stall")
    assert json.loads(events[0])["object"] == "chat.completion.chunk"
    assert json.loads(events[-1])["error"]["code"] == "upstream_timeout"


def test_garbage_instead_of_sse_is_a_502(live_gateway, local, gateway_key):
    resp = post(live_gateway.url, gateway_key, {"model": "local/garbage", "stream": True, "messages": MESSAGES})
    assert resp.status_code == 502
    assert assert_openai_error(resp)["code"] == "upstream_invalid_response"


def test_empty_event_stream_is_a_502(live_gateway, local, gateway_key):
    resp = post(live_gateway.url, gateway_key, {"model": "local/empty", "stream": True, "messages": MESSAGES})
    assert resp.status_code == 502
    assert assert_openai_error(resp)["code"] == "upstream_empty_stream"
