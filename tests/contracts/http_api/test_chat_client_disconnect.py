"""When the client goes away mid-stream, the gateway closes its upstream request
at once, so the backend stops generating (no orphaned generation).

This runs the real stack: uvicorn (h11 and httptools) → the gateway's raw ASGI fast
path, or Django's own ASGI handler (which cancels the view task on
``http.disconnect``) → the relay generator → the upstream client, and the fake upstream
records the moment its connection is closed."""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.contracts.http_api.helpers import Server, open_stream, read_until

WAIT_SECONDS = 10.0  # a bound on the wait, not a speed claim


def wait_for(predicate, timeout: float = WAIT_SECONDS) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.fixture(scope="module")
def django_handler_ports() -> Iterator[dict[str, int]]:
    with Server("h11") as h11, Server("httptools") as httptools:
        yield {"django-h11": h11.port, "django-httptools": httptools.port}


@pytest.mark.parametrize("path", ["fast-path", "django-h11", "django-httptools"])
@pytest.mark.parametrize("provider_type", ["custom", "openai"])
def test_client_disconnect_closes_the_upstream_request(
    live_gateway, make_provider, upstream, gateway_key, provider_type, path, request
):
    port = live_gateway.port if path == "fast-path" else request.getfixturevalue("django_handler_ports")[path]
    make_provider(name="local", provider_type=provider_type, base_url=upstream.base_url, api_key="sk-x-123456789")
    sock = open_stream(port, gateway_key, "local/stall")
    try:
        head = read_until(sock, b"chat.completion.chunk")
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        assert b"chat.completion.chunk" in head  # the first chunk arrived; the upstream now stalls
        assert upstream.disconnects == []
    finally:
        sock.close()
    assert wait_for(lambda: len(upstream.disconnects) == 1), "the upstream never saw the connection closed"


@pytest.mark.parametrize("path", ["fast-path", "django-h11"])
def test_client_disconnect_before_the_first_chunk_closes_the_upstream_request(
    live_gateway, make_provider, upstream, gateway_key, path, request
):
    port = live_gateway.port if path == "fast-path" else request.getfixturevalue("django_handler_ports")[path]
    upstream.slow_seconds = 30.0
    make_provider(name="local", base_url=upstream.base_url)
    sock = open_stream(port, gateway_key, "local/slow")
    assert wait_for(lambda: any(r.body and r.body.get("model") == "slow" for r in upstream.requests))
    sock.close()
    assert wait_for(lambda: len(upstream.disconnects) == 1), "the upstream request stayed open"
