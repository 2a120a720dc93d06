"""``direct: true`` ignores HTTP(S)_PROXY from the environment (for local servers
behind a corporate proxy setting); without it the environment's proxy is used."""
from __future__ import annotations

import socket

import httpx
import pytest

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def dead_proxy_env(monkeypatch: pytest.MonkeyPatch) -> str:
    with socket.socket() as s:  # nothing listens here once the socket is closed
        s.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{s.getsockname()[1]}"
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, proxy)
    return proxy


def post(url: str, key: str, model: str, stream: bool) -> httpx.Response:
    with httpx.Client(trust_env=False, timeout=20) as client:  # the test's own client goes direct
        return client.post(
            f"{url}/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": model, "stream": stream, "messages": MESSAGES},
        )


@pytest.mark.parametrize("stream", [False, True])
def test_direct_mode_reaches_the_upstream_despite_a_dead_proxy(
    live_gateway, make_provider, upstream, gateway_key, dead_proxy_env, stream
):
    make_provider(name="proxied", base_url=upstream.base_url)
    make_provider(name="direct", base_url=upstream.base_url, settings={"direct": True})

    through_proxy = post(live_gateway.url, gateway_key, "proxied/text", stream)
    assert through_proxy.status_code == 502  # the environment's (dead) proxy was used
    assert through_proxy.json()["error"]["code"] == "upstream_unreachable"
    assert upstream.requests == []

    direct = post(live_gateway.url, gateway_key, "direct/text", stream)
    assert direct.status_code == 200, direct.text
    assert upstream.last().body["model"] == "text"
