"""Every way an upstream can fail, through the live gateway: the client always gets
a well-formed OpenAI error (an HTTP error before the stream, a final error event
during it), the gateway serves the next request, no socket to the upstream is
left open, and the log names the provider and the cause."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import free_port, wait_until
from tests.fakes.faulty_upstream import OK_PIECES

PROVIDER = "faulty"


@dataclass(frozen=True)
class Fault:
    model: str
    status: int  # what the client sees first
    code: str | None  # error code, in the HTTP error or the final event
    log: str  # what the log line must say (with provider=faulty)
    events_before_error: int = 0  # chunks relayed before a mid-stream error
    retry_after: str | None = None
    done: bool = False  # the stream ends properly with [DONE]


STREAM_FAULTS = [
    Fault("refuse", 502, "upstream_unreachable", "cause=connect failed"),
    Fault("reset", 502, "upstream_disconnected", "cause=connection lost"),
    Fault("stall-headers", 504, "upstream_timeout", "cause=timeout"),
    Fault("stall-mid", 200, "upstream_timeout", "cause=read timeout (mid-stream)", events_before_error=1),
    Fault("garbage", 502, "upstream_invalid_response", "cause=malformed stream event"),
    Fault("not-sse", 502, "upstream_invalid_response", "cause=not an event stream"),
    Fault("empty", 502, "upstream_empty_stream", "cause=empty stream"),
    Fault("truncated", 200, "upstream_invalid_response", "cause=malformed stream event", events_before_error=1),
    Fault("no-done", 200, "upstream_disconnected", "cause=connection lost", events_before_error=2),
    Fault("eof-no-done", 200, None, "cause=stream ended without [DONE]", events_before_error=len(OK_PIECES) + 1, done=True),
    Fault("status-429", 429, "fake_429", "cause=http_429", retry_after="3"),
    Fault("status-500", 502, "fake_500", "cause=http_500"),
    Fault("status-502", 502, "fake_502", "cause=http_502"),
    Fault("status-503", 502, "fake_503", "cause=http_503"),
]

PLAIN_FAULTS = [
    Fault("refuse", 502, "upstream_unreachable", "cause=connect failed"),
    Fault("reset", 502, "upstream_disconnected", "cause=connection lost"),
    Fault("stall-headers", 504, "upstream_timeout", "cause=timeout"),
    Fault("garbage", 502, "upstream_invalid_response", "cause=invalid JSON answer"),
    Fault("status-429", 429, "fake_429", "cause=http_429", retry_after="3"),
    Fault("status-500", 502, "fake_500", "cause=http_500"),
    Fault("status-502", 502, "fake_502", "cause=http_502"),
    Fault("status-503", 502, "fake_503", "cause=http_503"),
]


def _setup(make_provider, faulty, fault: Fault) -> str:
    base_url = f"http://127.0.0.1:{free_port()}/v1" if fault.model == "refuse" else faulty.base_url
    make_provider(
        name=PROVIDER,
        base_url=base_url,
        api_key="sk-faulty-upstream-secret-0001",
        settings={"read_timeout": 1.0, "connect_timeout": 2.0},
    )
    return "ok" if fault.model == "refuse" else fault.model


def _assert_error_shape(payload: dict, code: str | None) -> None:
    assert set(payload) == {"error"}
    error = payload["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"]
    assert error["code"] == code


def _events(body: str) -> list[str]:
    return [block[len("data: "):] for block in body.split("\n\n") if block.startswith("data: ")]


def _assert_healthy(client: httpx.Client, key: str, faulty) -> None:
    """The gateway still serves a good stream from the same provider's host."""
    ok_provider = "faulty-ok"
    with client.stream(
        "POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
        json={"model": f"{ok_provider}/ok", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
    ) as resp:
        assert resp.status_code == 200
        events = _events(resp.read().decode())
    assert events[-1] == "[DONE]"
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1])
    assert text == "".join(OK_PIECES)


def _assert_log(caplog, fault: Fault) -> None:
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("gateway")]
    assert any(f"provider={PROVIDER} " in line and fault.log in line for line in lines), lines


@pytest.mark.parametrize("fault", STREAM_FAULTS, ids=[f.model for f in STREAM_FAULTS])
def test_streaming_fault_reaches_the_client_as_an_openai_error(
    fault, live_gateway, faulty, make_provider, gateway_key, caplog
):
    caplog.set_level(logging.INFO, logger="gateway")
    model = _setup(make_provider, faulty, fault)
    make_provider(name="faulty-ok", base_url=faulty.base_url)
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        with client.stream(
            "POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {gateway_key}"},
            json={"model": f"{PROVIDER}/{model}", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
        ) as resp:
            raw = resp.read().decode()
        assert resp.status_code == fault.status, raw
        if fault.status != 200:
            assert resp.headers["content-type"] == "application/json"
            _assert_error_shape(json.loads(raw), fault.code)
            assert resp.headers.get("retry-after") == fault.retry_after
        else:
            assert resp.headers["content-type"].startswith("text/event-stream")
            events = _events(raw)
            chunks = [json.loads(e) for e in events[: fault.events_before_error]]
            assert [c["object"] for c in chunks] == ["chat.completion.chunk"] * fault.events_before_error
            if fault.done:
                assert events[fault.events_before_error:] == ["[DONE]"]
            else:
                # Exactly one final error event, and nothing after it.
                assert len(events) == fault.events_before_error + 1, events
                _assert_error_shape(json.loads(events[-1]), fault.code)
        assert wait_until(lambda: faulty.open_connections == 0), "a connection to the upstream was left open"
        _assert_healthy(client, gateway_key, faulty)
    assert wait_until(lambda: faulty.open_connections == 0), "a connection to the upstream was left open"
    _assert_log(caplog, fault)


@pytest.mark.parametrize("fault", PLAIN_FAULTS, ids=[f.model for f in PLAIN_FAULTS])
def test_non_streaming_fault_reaches_the_client_as_an_openai_error(
    fault, live_gateway, faulty, make_provider, gateway_key, caplog
):
    caplog.set_level(logging.INFO, logger="gateway")
    model = _setup(make_provider, faulty, fault)
    make_provider(name="faulty-ok", base_url=faulty.base_url)
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        resp = client.post(
            "/v1/chat/completions", headers={"Authorization": f"Bearer {gateway_key}"},
            json={"model": f"{PROVIDER}/{model}", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert resp.status_code == fault.status, resp.text
        assert resp.headers["content-type"] == "application/json"
        _assert_error_shape(resp.json(), fault.code)
        assert resp.headers.get("retry-after") == fault.retry_after
        assert wait_until(lambda: faulty.open_connections == 0), "a connection to the upstream was left open"
        _assert_healthy(client, gateway_key, faulty)
    assert wait_until(lambda: faulty.open_connections == 0), "a connection to the upstream was left open"
    _assert_log(caplog, fault)
