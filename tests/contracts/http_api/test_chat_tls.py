"""TLS to self-signed internal endpoints: verification on by default (a clear 502
when the certificate is not trusted), ``ca_bundle`` to trust a private CA, and
``verify_tls: false`` to skip verification. The upstream is a real HTTPS server
on 127.0.0.1 with a certificate made here."""
from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.contracts.http_api.helpers import as_requested
from tests.fakes.openai_upstream import FakeUpstream, completion_for
from tests.fakes.tls import self_signed

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def tls_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeUpstream, Path]]:
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = FakeUpstream(ssl_context=context).start()
    yield server, cert
    server.stop()


def post(url: str, key: str, model: str, stream: bool = False) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": model, "stream": stream, "messages": MESSAGES},
        timeout=20,
    )


@pytest.mark.parametrize("stream", [False, True])
def test_untrusted_certificate_is_a_clear_502_by_default(live_gateway, make_provider, tls_upstream, gateway_key, stream):
    server, _cert = tls_upstream
    assert server.base_url.startswith("https://127.0.0.1:")
    make_provider(name="internal", base_url=server.base_url)
    resp = post(live_gateway.url, gateway_key, "internal/text", stream)
    assert resp.status_code == 502
    error = resp.json()["error"]
    assert error["code"] == "upstream_tls_error"
    assert "certificate" in error["message"] and "ca_bundle" in error["message"]


def test_ca_bundle_trusts_the_self_signed_certificate(live_gateway, make_provider, tls_upstream, gateway_key):
    server, cert = tls_upstream
    make_provider(name="internal", base_url=server.base_url, settings={"ca_bundle": str(cert)})
    resp = post(live_gateway.url, gateway_key, "internal/text")
    assert resp.status_code == 200, resp.text
    assert resp.json() == as_requested(completion_for("text"), "internal/text")


@pytest.mark.parametrize("stream", [False, True])
def test_verify_tls_false_skips_verification(live_gateway, make_provider, tls_upstream, gateway_key, stream):
    server, _cert = tls_upstream
    make_provider(name="internal", base_url=server.base_url, settings={"verify_tls": False})
    resp = post(live_gateway.url, gateway_key, "internal/text", stream)
    assert resp.status_code == 200, resp.text
    if stream:
        assert resp.text.endswith("data: [DONE]\n\n")
