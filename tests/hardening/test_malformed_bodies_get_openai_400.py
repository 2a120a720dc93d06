"""Every malformed /v1 body is a 400 in the OpenAI shape on both doors (the ASGI
fast path and Django's handler), never a 500: numbers longer than Python's
4,300-digit int limit, NaN/Infinity and floats that overflow (not JSON, and not
re-serialisable for the upstream), nesting deeper than the parser's stack,
invalid UTF-8, a byte-order mark, non-object JSON. Any byte string at all gets a
4xx. And should a bug ever raise, the fast path's own 500 is OpenAI-shaped too."""
from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

MESSAGES = b'[{"role": "user", "content": "hi"}]'


def _with(field: bytes) -> bytes:
    return b'{"model": "local/text", "messages": ' + MESSAGES + b', ' + field + b'}'


MALFORMED: list[tuple[str, bytes, str]] = [
    ("int-5000-digits", _with(b'"max_tokens": ' + b"9" * 5000), "invalid_json"),
    ("negative-int-4301-digits", _with(b'"seed": -' + b"1" * 4301), "invalid_json"),
    ("int-in-messages", b'{"model": "local/text", "messages": [{"role": "user", "content": ' + b"7" * 10_000 + b"}]}",
     "invalid_json"),
    ("nan", _with(b'"temperature": NaN'), "invalid_json"),
    ("infinity", _with(b'"temperature": Infinity'), "invalid_json"),
    ("minus-infinity", _with(b'"top_p": -Infinity'), "invalid_json"),
    ("float-overflow", _with(b'"temperature": 1e400'), "invalid_json"),
    ("deep-in-extra-field", _with(b'"metadata": ' + b"[" * 100_000 + b"]" * 100_000), "invalid_body"),
    ("invalid-utf8-in-content", b'{"model": "local/text", "messages": [{"role": "user", "content": "\xc3\x28"}]}',
     "invalid_body"),
    ("byte-order-mark", b"\xef\xbb\xbf" + _with(b'"n": 1'), "invalid_json"),
    ("top-level-array", b"[" + MESSAGES + b"]", "invalid_body"),
    ("top-level-number", b"9" * 5000, "invalid_json"),
]


@pytest.fixture
def world(make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url)
    upstream.requests.clear()
    return gateway_key


def _assert_openai_400(resp: httpx.Response, code: str) -> None:
    assert resp.status_code == 400, resp.text[:300]
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert body == {"error": {"message": body["error"]["message"], "type": "invalid_request_error", "param": None,
                              "code": code}}
    assert body["error"]["message"]


@pytest.mark.parametrize(("case", "raw", "code"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_bodies_get_an_openai_shaped_400_on_both_doors(case, raw, code, any_gateway, world, upstream):
    with httpx.Client(base_url=any_gateway.url, timeout=30) as client:
        resp = client.post("/v1/chat/completions", content=raw,
                           headers={"Authorization": f"Bearer {world}", "Content-Type": "application/json"})
        _assert_openai_400(resp, code)
        # The worker is fine afterwards.
        ok = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {world}"},
                         json={"model": "local/text", "messages": [{"role": "user", "content": "hi"}]})
        assert ok.status_code == 200, ok.text
    assert len(upstream.requests) == 1  # nothing malformed went upstream


def test_duplicate_keys_and_big_but_legal_numbers_are_accepted(any_gateway, world, upstream):
    raw = _with(b'"max_tokens": 5, "max_tokens": 7, "seed": ' + b"9" * 4300 + b', "temperature": 1e300')
    with httpx.Client(base_url=any_gateway.url, timeout=30) as client:
        resp = client.post("/v1/chat/completions", content=raw, headers={"Authorization": f"Bearer {world}"})
    assert resp.status_code == 200, resp.text
    assert upstream.last().body["max_tokens"] == 7  # the last one wins, as in every JSON parser we know


@hsettings(max_examples=80, derandomize=True, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=st.binary(max_size=300) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bytes_get_a_4xx_in_the_openai_shape(raw, live_gateway, world):
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        resp = client.post("/v1/chat/completions", content=raw, headers={"Authorization": f"Bearer {world}"})
    assert 400 <= resp.status_code < 500, (raw, resp.text[:300])
    assert set(resp.json()["error"]) == {"message", "type", "param", "code"}


async def test_the_fast_path_answers_its_own_failures_with_an_openai_shaped_500(monkeypatch, transactional_db,
                                                                                gateway_key):
    from chat import gateway
    from chat.fastpath import Application
    from tests.asgi_call import call

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(gateway, "prepare_chat", broken)
    body = json.dumps({"model": "local/text", "messages": [{"role": "user", "content": "hi"}]}).encode()
    status, headers, content = await call(Application(lambda *a: None, fast=True), "POST", "/v1/chat/completions",
                                          {"Authorization": f"Bearer {gateway_key}"}, body)
    assert status == 500
    assert ("content-type", "application/json") in headers
    payload = json.loads(content)
    assert payload == {"error": {"message": payload["error"]["message"], "type": "server_error", "param": None,
                                 "code": "internal_error"}}
