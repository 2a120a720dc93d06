"""A gateway key past its expiry time is refused with 401 and code ``key_expired``
(a clear message naming when it expired) on every /v1 surface, through the raw
ASGI fast path and Django's own handler alike; nothing reaches the upstream. The
check reads the clock on each request, so a key expires without any change; a stream
the key has open ends with a final ``key_expired`` error event once it expires."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import httpx
from django.utils import timezone

from providers import services
from tests.fakes.metered_upstream import MeteredUpstream

MESSAGES = [{"role": "user", "content": "hi"}]


def _expired_key() -> str:
    key, raw = services.gateway_key_create(name="old", expires_at=timezone.now() + timedelta(days=1))
    services.gateway_key_update(key=key, all_providers=True, providers=[],
                                expires_at=timezone.now() - timedelta(minutes=5))
    return raw


def _assert_expired(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error == {"message": error["message"], "type": "invalid_request_error", "param": None,
                     "code": "key_expired"}
    assert "expired" in error["message"] and "UTC" in error["message"]


def test_expired_key_is_refused_on_chat_and_models(any_gateway, upstream, make_provider):
    make_provider(name="local", base_url=upstream.base_url)
    raw = _expired_key()
    bearer = {"Authorization": f"Bearer {raw}"}
    with httpx.Client(base_url=any_gateway.url, timeout=10) as client:
        _assert_expired(client.post("/v1/chat/completions", headers=bearer,
                                    json={"model": "local/text", "messages": MESSAGES}))
        _assert_expired(client.post("/v1/chat/completions", headers=bearer,
                                    json={"model": "local/text", "stream": True, "messages": MESSAGES}))
        _assert_expired(client.get("/v1/models", headers=bearer))
        _assert_expired(client.get("/v1/models/local/text", headers=bearer))
    assert upstream.requests == []


def test_expired_key_is_refused_on_the_inbound_surfaces(any_gateway, upstream, make_provider):
    make_provider(name="local", base_url=upstream.base_url)
    raw = _expired_key()
    bearer = {"Authorization": f"Bearer {raw}"}
    with httpx.Client(base_url=any_gateway.url, timeout=10) as client:
        _assert_expired(client.post("/v1/responses", headers=bearer, json={"model": "local/text", "input": "hi"}))
        _assert_expired(client.post("/v1/embeddings", headers=bearer, json={"model": "local/e", "input": "hi"}))
        anthropic = client.post("/v1/messages", headers={"x-api-key": raw},
                                json={"model": "local/text", "max_tokens": 8, "messages": MESSAGES})
    assert anthropic.status_code == 401
    body = anthropic.json()
    assert body["type"] == "error" and body["error"]["type"] == "authentication_error"
    assert "expired" in body["error"]["message"]
    assert upstream.requests == []


def test_a_key_expires_by_the_clock_without_any_change(any_gateway, upstream, make_provider):
    make_provider(name="local", base_url=upstream.base_url)
    expiry = timezone.now() + timedelta(seconds=2)
    _key, raw = services.gateway_key_create(name="short", expires_at=expiry)
    bearer = {"Authorization": f"Bearer {raw}"}
    with httpx.Client(base_url=any_gateway.url, timeout=10) as client:
        ok = client.post("/v1/chat/completions", headers=bearer, json={"model": "local/text", "messages": MESSAGES})
        assert ok.status_code == 200, ok.text
        time.sleep(max(0.0, (expiry - timezone.now()).total_seconds()) + 0.2)  # wait it out (not a timing claim)
        _assert_expired(client.post("/v1/chat/completions", headers=bearer,
                                    json={"model": "local/text", "messages": MESSAGES}))



def _stream_past(expiry, client: httpx.Client, path: str, headers: dict, body: dict) -> tuple[list[str], float]:
    """Read a trickling stream until it ends; (its data lines, seconds it ran past ``expiry``)."""
    lines: list[str] = []
    with client.stream("POST", path, headers=headers, json=body) as resp:
        assert resp.status_code == 200
        for line in resp.iter_lines():
            if line.startswith("data: "):
                lines.append(line[len("data: "):])
            if (timezone.now() - expiry).total_seconds() > 20:
                break  # still streaming long after: the caller's assertion says so
    return lines, (timezone.now() - expiry).total_seconds()


def test_an_open_stream_ends_when_its_key_expires(any_gateway, make_provider):
    # The relay looks at most once a second (chat.gateway.KEY_CHECK_SECONDS), on its next
    # frame: a stream of a key that expires ends with key_expired within about that.
    trickle = MeteredUpstream(tick=0.1, stream_seconds=60).start()
    try:
        make_provider(name="trickle", base_url=trickle.base_url)
        expiry = timezone.now() + timedelta(seconds=2)
        _key, raw = services.gateway_key_create(name="expiring", expires_at=expiry)
        with httpx.Client(base_url=any_gateway.url, timeout=30) as client:
            lines, past = _stream_past(expiry, client, "/v1/chat/completions", {"Authorization": f"Bearer {raw}"},
                                       {"model": "trickle/any", "stream": True, "messages": MESSAGES})
    finally:
        trickle.stop()
    assert len(lines) > 5  # it streamed before the expiry
    assert json.loads(lines[-1])["error"]["code"] == "key_expired"
    assert past < 1.0 + 2.0  # KEY_CHECK_SECONDS plus a margin for a loaded machine


def test_an_open_native_messages_stream_ends_with_an_anthropic_error_when_its_key_expires(
        live_gateway, make_provider, anthropic_upstream):
    make_provider(name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url, api_key="k")
    expiry = timezone.now() + timedelta(seconds=2)
    _key, raw = services.gateway_key_create(name="expiring", expires_at=expiry)
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        lines, past = _stream_past(expiry, client, "/v1/messages", {"x-api-key": raw},
                                   {"model": "claude/trickle", "max_tokens": 8, "stream": True, "messages": MESSAGES})
    error = json.loads(lines[-1])
    assert error["type"] == "error" and error["error"]["type"] == "authentication_error"
    assert "expired" in error["error"]["message"]
    assert past < 1.0 + 2.0
