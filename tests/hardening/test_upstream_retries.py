"""Optional retries before the first byte: connection errors, 429 and 5xx are
retried (honouring Retry-After); nothing is retried once bytes reached the client."""
from __future__ import annotations

import json

import httpx
import pytest

from chat import limits
from tests.conftest import wait_until
from tests.fakes.faulty_upstream import OK_PIECES


def _chat(client: httpx.Client, key: str, model: str, *, stream: bool) -> httpx.Response:
    resp = client.post(
        "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
        json={"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]},
    )
    return resp


def _text(body: str) -> str:
    events = [b[6:] for b in body.split("\n\n") if b.startswith("data: ")]
    assert events[-1] == "[DONE]"
    return "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1])


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "plain"])
def test_transient_5xx_is_retried_until_it_succeeds(stream, live_gateway, faulty, make_provider, gateway_key):
    make_provider(name="flaky", base_url=faulty.base_url, settings={"retries": 2})
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        resp = _chat(client, gateway_key, "flaky/flaky-2", stream=stream)
    assert resp.status_code == 200, resp.text
    if stream:
        assert _text(resp.text) == "".join(OK_PIECES)
    else:
        assert resp.json()["choices"][0]["message"]["content"] == "".join(OK_PIECES)
    assert faulty.requests["flaky-2"] == 3


def test_retries_give_up_after_the_configured_number(live_gateway, faulty, make_provider, gateway_key):
    make_provider(name="flaky", base_url=faulty.base_url, settings={"retries": 1})
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        resp = _chat(client, gateway_key, "flaky/flaky-5", stream=True)
    assert resp.status_code == 502
    assert resp.json()["error"]["code"] == "fake_503"
    assert faulty.requests["flaky-5"] == 2


def test_no_retry_by_default(live_gateway, faulty, make_provider, gateway_key):
    make_provider(name="flaky", base_url=faulty.base_url)
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        resp = _chat(client, gateway_key, "flaky/flaky-1", stream=True)
    assert resp.status_code == 502
    assert faulty.requests["flaky-1"] == 1


def test_429_retry_waits_for_retry_after(live_gateway, faulty, make_provider, gateway_key, monkeypatch):
    waits: list[float] = []
    real_sleep = limits._sleep

    async def recording_sleep(seconds: float) -> None:
        waits.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(limits, "_sleep", recording_sleep)
    make_provider(name="busy", base_url=faulty.base_url, settings={"retries": 1})
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        resp = _chat(client, gateway_key, "busy/status-429", stream=False)
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "3"
    assert faulty.requests["status-429"] == 2
    assert waits == [3.0]


def test_nothing_is_retried_after_bytes_reached_the_client(live_gateway, faulty, make_provider, gateway_key):
    make_provider(name="dropper", base_url=faulty.base_url, settings={"retries": 3})
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        resp = _chat(client, gateway_key, "dropper/no-done", stream=True)
    assert resp.status_code == 200
    events = [b[6:] for b in resp.text.split("\n\n") if b.startswith("data: ")]
    assert json.loads(events[-1])["error"]["code"] == "upstream_disconnected"
    assert faulty.requests["no-done"] == 1
    assert wait_until(lambda: faulty.open_connections == 0)


def test_backoff_honours_retry_after_and_grows_without_it():
    assert limits.backoff(1, 3.0) == 3.0
    assert limits.backoff(1, limits.MAX_RETRY_WAIT + 1) is None  # too long: the client gets the 429
    first = [limits.backoff(1, None) for _ in range(50)]
    third = [limits.backoff(3, None) for _ in range(50)]
    assert max(first) <= 0.25 and min(third) >= 0.5
