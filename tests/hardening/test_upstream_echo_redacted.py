"""An upstream that quotes the credentials it rejected in its error message: the
gateway relays the message with every provider secret masked, before a stream
and during one."""
from __future__ import annotations

import json

import httpx
import pytest

API_KEY = "sk-echoed-upstream-secret-4242"
HEADER_KEY = "hdr-echoed-upstream-secret-99"


@pytest.fixture
def echo_provider(make_provider, faulty):
    make_provider(name="echo", base_url=faulty.base_url, api_key=API_KEY, extra_headers={"X-Api-Key": HEADER_KEY})


def _assert_masked(message: str) -> None:
    assert API_KEY not in message and HEADER_KEY not in message
    assert message == "Incorrect API key provided: Bearer *** (x-api-key: ***)"


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_echoed_credentials_are_masked_before_the_stream(stream, live_gateway, echo_provider, gateway_key):
    resp = httpx.post(f"{live_gateway.url}/v1/chat/completions", headers={"Authorization": f"Bearer {gateway_key}"},
                      json={"model": "echo/echo-auth", "stream": stream, "messages": []}, timeout=30)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "invalid_api_key"
    _assert_masked(resp.json()["error"]["message"])


def test_echoed_credentials_are_masked_in_a_final_error_event(live_gateway, echo_provider, gateway_key):
    resp = httpx.post(f"{live_gateway.url}/v1/chat/completions", headers={"Authorization": f"Bearer {gateway_key}"},
                      json={"model": "echo/echo-auth-mid", "stream": True, "messages": []}, timeout=30)
    assert resp.status_code == 200
    events = [b[6:] for b in resp.text.split("\n\n") if b.startswith("data: ")]
    assert len(events) == 2
    _assert_masked(json.loads(events[-1])["error"]["message"])
