"""When the client goes away mid-stream, the gateway closes its upstream request
at once, so the backend stops generating (no orphaned generation).

This runs the real stack: uvicorn (h11 and httptools) → the gateway's raw ASGI fast
path, or Django's own ASGI handler (which cancels the view task on
``http.disconnect``) → the relay generator → the upstream client, and the fake upstream
records the moment its connection is closed."""
from __future__ import annotations

import pytest

from tests.contracts.http_api.helpers import open_stream, read_until, wait_for


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
