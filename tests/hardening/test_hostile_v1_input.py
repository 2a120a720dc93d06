"""Hostile input to /v1: malformed JSON, wrong types, huge bodies, deep nesting,
invalid UTF-8, missing or unknown models, bad credentials. Always an
OpenAI-shaped 4xx, never a 5xx, nothing persisted, nothing sent upstream. Both
request paths are covered: the raw ASGI fast path and Django's handler."""
from __future__ import annotations

import json

import httpx
import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from providers.models import ConfigVersion, GatewayKey, Provider

LIMIT = 64 * 1024


def _msg() -> list[dict]:
    return [{"role": "user", "content": "hi"}]


def _deep(depth: int) -> bytes:
    return b'{"model": "local/text", "messages": ' + b"[" * depth + b"]" * depth + b"}"


BAD_BODIES: list[tuple[str, bytes, int]] = [
    ("empty", b"", 400),
    ("truncated-json", b'{"model": "local/text", "messages": [', 400),
    ("not-json", b"model=local/text&messages=hi", 400),
    ("array", b"[1, 2, 3]", 400),
    ("string", b'"hello"', 400),
    ("null", b"null", 400),
    ("number", b"1e999999", 400),
    ("model-number", json.dumps({"model": 123, "messages": _msg()}).encode(), 400),
    ("model-null", json.dumps({"model": None, "messages": _msg()}).encode(), 400),
    ("model-object", json.dumps({"model": {"$ne": 1}, "messages": _msg()}).encode(), 400),
    ("model-empty", json.dumps({"model": "", "messages": _msg()}).encode(), 400),
    ("model-missing", json.dumps({"messages": _msg()}).encode(), 400),
    ("messages-missing", json.dumps({"model": "local/text"}).encode(), 400),
    ("messages-string", json.dumps({"model": "local/text", "messages": "hi"}).encode(), 400),
    ("messages-object", json.dumps({"model": "local/text", "messages": {"role": "user"}}).encode(), 400),
    ("stream-string", json.dumps({"model": "local/text", "messages": _msg(), "stream": "yes"}).encode(), 400),
    ("stream-number", json.dumps({"model": "local/text", "messages": _msg(), "stream": 1}).encode(), 400),
    ("unknown-provider", json.dumps({"model": "nope/text", "messages": _msg()}).encode(), 404),
    ("no-provider", json.dumps({"model": "/text", "messages": _msg()}).encode(), 404),
    ("no-model-no-default", json.dumps({"model": "local/", "messages": _msg()}).encode(), 404),
    ("provider-only", json.dumps({"model": "local", "messages": _msg()}).encode(), 404),
    ("traversal", json.dumps({"model": "../../etc/passwd", "messages": _msg()}).encode(), 404),
    ("nul-provider", json.dumps({"model": "lo\u0000cal/text", "messages": _msg()}).encode(), 404),
    ("invalid-utf8", b'{"model": "local/\xff\xfe", "messages": []}', 400),
    ("lone-surrogate", b'{"model": "local/\\ud800", "messages": [], "stream": "x"}', 400),
    ("deep-arrays", _deep(50_000), 400),
    ("deep-objects", b'{"model": "local/text", "messages": ' + b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"}", 400),
]


@pytest.fixture
def world(make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url)
    upstream.requests.clear()
    return gateway_key


def _counts() -> tuple[int, int, int]:
    return Provider.objects.count(), GatewayKey.objects.count(), ConfigVersion.objects.get().version


def _assert_openai_error(resp: httpx.Response, status: int) -> None:
    assert resp.status_code == status, resp.text[:500]
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


@pytest.mark.parametrize(("case", "raw", "status"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_malformed_chat_requests_get_openai_shaped_4xx(case, raw, status, any_gateway, world, upstream):
    before = _counts()
    with httpx.Client(base_url=any_gateway.url, timeout=30) as client:
        resp = client.post(
            "/v1/chat/completions", content=raw,
            headers={"Authorization": f"Bearer {world}", "Content-Type": "application/json"},
        )
        _assert_openai_error(resp, status)
        # And the gateway is fine afterwards.
        ok = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {world}"},
                         json={"model": "local/text", "messages": _msg()})
        assert ok.status_code == 200
    assert _counts() == before
    assert len(upstream.requests) == 1  # only the good request got through


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_huge_body_gets_413(chunked, any_gateway, world, upstream):
    body = json.dumps({"model": "local/text", "messages": [{"role": "user", "content": "x" * (LIMIT * 2)}]}).encode()

    def pieces():
        for i in range(0, len(body), 8192):
            yield body[i:i + 8192]

    with override_settings(GATEWAY_MAX_BODY_BYTES=LIMIT, DATA_UPLOAD_MAX_MEMORY_SIZE=LIMIT):
        with httpx.Client(base_url=any_gateway.url, timeout=30) as client:
            resp = client.post("/v1/chat/completions", content=pieces() if chunked else body,
                               headers={"Authorization": f"Bearer {world}", "Content-Type": "application/json"})
            _assert_openai_error(resp, 413)
            small = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {world}"},
                                json={"model": "local/text", "messages": _msg()})
            assert small.status_code == 200
    assert len(upstream.requests) == 1


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer gwk_not-a-real-key", "bearer\tgwk_x", "Bearer " + "A" * 10_000],
)
def test_bad_credentials_get_401_on_both_endpoints(authorization, any_gateway, world, upstream):
    headers = {} if authorization is None else {"Authorization": authorization}
    with httpx.Client(base_url=any_gateway.url, timeout=30) as client:
        _assert_openai_error(client.post("/v1/chat/completions", headers=headers,
                                         json={"model": "local/text", "messages": _msg()}), 401)
        _assert_openai_error(client.get("/v1/models", headers=headers), 401)
    assert not upstream.requests


def test_wrong_methods_get_405(any_gateway, world):
    headers = {"Authorization": f"Bearer {world}"}
    with httpx.Client(base_url=any_gateway.url, timeout=30) as client:
        for method, path in [("GET", "/v1/chat/completions"), ("PUT", "/v1/chat/completions"),
                             ("DELETE", "/v1/models"), ("POST", "/v1/models")]:
            resp = client.request(method, path, headers=headers)
            _assert_openai_error(resp, 405)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
BODIES = st.fixed_dictionaries(
    {},
    optional={
        "model": st.one_of(JSON_VALUES, st.sampled_from(["local/text", "local/", "nope/x", "local/status-400"])),
        "messages": st.one_of(JSON_VALUES, st.just(_msg())),
        "stream": JSON_VALUES,
        "temperature": JSON_VALUES,
    },
)


@hsettings(max_examples=60, derandomize=True, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=BODIES)
def test_fuzzed_chat_bodies_never_get_a_5xx(body, live_gateway, world):
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        resp = client.post("/v1/chat/completions", content=json.dumps(body).encode(),
                           headers={"Authorization": f"Bearer {world}"})
    assert resp.status_code < 500, (body, resp.text[:300])
    if resp.status_code >= 400:
        assert set(resp.json()["error"]) == {"message", "type", "param", "code"}
