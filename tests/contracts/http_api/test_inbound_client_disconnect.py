"""When a Claude Code or Codex client goes away mid-stream, the gateway closes its
upstream request at once, on both doors (the raw ASGI fast path, Django's handler)
and for translated and native streams alike: /v1/messages to a chat backend and to
an ``anthropic`` provider, /v1/responses to a chat backend and to a ``codex`` one."""
from __future__ import annotations

import json
import socket

import pytest

from tests.contracts.http_api.helpers import read_until, wait_for

HI = [{"role": "user", "content": "hi"}]


def open_stream(port: int, key: str, path: str, body: dict) -> socket.socket:
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n".encode()
        + f"x-api-key: {key}\r\nContent-Length: {len(data)}\r\n\r\n".encode()
        + data
    )
    return sock


CASES = {
    "messages-translated": ("local", "/v1/messages", {"model": "local/stall", "max_tokens": 8, "messages": HI}),
    "messages-native": ("claude", "/v1/messages", {"model": "claude/stall", "max_tokens": 8, "messages": HI}),
    "responses-translated": ("local", "/v1/responses", {"model": "local/stall", "input": "hi"}),
    "responses-native": ("codex", "/v1/responses", {"model": "codex/stall", "input": "hi"}),
}


@pytest.mark.parametrize("door", ["fast-path", "django-h11"])
@pytest.mark.parametrize("case", list(CASES))
def test_client_disconnect_closes_the_upstream_request(live_gateway, make_provider, upstream, anthropic_upstream,
                                                       responses_upstream, gateway_key, case, door,
                                                       request):
    port = live_gateway.port if door == "fast-path" else request.getfixturevalue("django_handler_ports")[door]
    fakes = {"local": upstream, "claude": anthropic_upstream, "codex": responses_upstream}
    provider, path, body = CASES[case]
    kinds = {"local": "custom", "claude": "anthropic", "codex": "codex"}
    make_provider(name=provider, provider_type=kinds[provider], base_url=fakes[provider].base_url, api_key="sk-x-1234")
    fake = fakes[provider]
    fake.disconnects.clear()
    sock = open_stream(port, gateway_key, path, {**body, "stream": True})
    try:
        head = read_until(sock, b"event: ")
        assert head.startswith(b"HTTP/1.1 200"), head[:300]
        assert fake.disconnects == []
    finally:
        sock.close()
    assert wait_for(lambda: len(fake.disconnects) == 1), "the upstream never saw the connection closed"
