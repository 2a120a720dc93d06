"""A gateway key revoked while a native passthrough stream is open (/v1/messages
to an ``anthropic`` provider, /v1/responses to a ``codex`` one) ends that stream
too, as chat completions streams end: on a following frame, with the surface's
own error event (Anthropic ``authentication_error``; Responses ``key_revoked``)."""
from __future__ import annotations

import json

import httpx
import pytest

from providers import services

# Generous: the relay looks once a second, the routing table refreshes once a second.
DEADLINE_READS = 200  # ~20 s of the fakes' 0.1 s trickle


def stream_until_revoked(url: str, path: str, headers: dict, body: dict, key) -> list[str]:
    events: list[str] = []
    tail = ""
    with httpx.Client(base_url=url, timeout=30) as client:
        with client.stream("POST", path, headers=headers, json=body) as resp:
            assert resp.status_code == 200
            for line in resp.iter_lines():
                if line.startswith("event: "):
                    events.append(line[len("event: "):])
                if len(events) == 3:
                    services.gateway_key_revoke(key=key)
                if line.startswith("data: "):
                    tail = line
                if len(events) > DEADLINE_READS:
                    break
    return [*events, tail]


@pytest.fixture
def revocable(transactional_db):
    return services.gateway_key_create(name="to-revoke")


def test_native_messages_stream_ends_with_an_anthropic_error_event(live_gateway, revocable, make_provider,
                                                                   anthropic_upstream):
    key, raw = revocable
    make_provider(name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url, api_key="k")
    events = stream_until_revoked(live_gateway.url, "/v1/messages", {"x-api-key": raw},
                                  {"model": "claude/trickle", "max_tokens": 8, "stream": True,
                                   "messages": [{"role": "user", "content": "hi"}]}, key)
    assert len(events) <= DEADLINE_READS and events[-2] == "error"
    error = json.loads(events[-1].split("data: ", 1)[-1])
    assert error["error"]["type"] == "authentication_error" and "revoked" in error["error"]["message"]


def test_native_responses_stream_ends_with_an_error_event(live_gateway, revocable, make_provider,
                                                          responses_upstream):
    key, raw = revocable
    make_provider(name="codex", provider_type="codex", base_url=responses_upstream.base_url, api_key="k")
    events = stream_until_revoked(live_gateway.url, "/v1/responses", {"Authorization": f"Bearer {raw}"},
                                  {"model": "codex/trickle", "input": "hi", "stream": True}, key)
    assert len(events) <= DEADLINE_READS and events[-2] == "error"
    assert json.loads(events[-1].split("data: ", 1)[-1])["code"] == "key_revoked"
