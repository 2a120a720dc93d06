"""The raw ASGI fast path serves /v1/messages (and count_tokens), /v1/responses
and /v1/embeddings exactly as the Django views behind the full middleware stack
do: same status, headers and body, for translated and native answers, streams,
and every kind of error, in every language. Each request goes to both doors, in
process, against the same real loopback upstreams; only the ids and times a
translated answer makes up itself differ, and are masked."""
from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from tests.asgi_call import call
from tests.scale.doors import EndlessBody, both, doors

HI = [{"role": "user", "content": "hi"}]
# Ids and times each answer makes up; events are compact JSON, answers may not be.
_MADE_UP = re.compile(rb'"((?:msg|resp|toolu|call|fc|rs)_)[0-9a-f]{24}"|"created_at":( ?)\d+')


def masked(answer: tuple[int, list[tuple[str, str]], bytes]) -> tuple[Any, ...]:
    status, headers, body = answer
    return status, headers, _MADE_UP.sub(
        lambda m: b'"%s0"' % m.group(1) if m.group(1) else b'"created_at":%s0' % m.group(2), body)


async def same(apps, path: str, headers: dict[str, str], body: Any, method: str = "POST") -> tuple[Any, ...]:
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    got, expected = await both(apps, method, path, headers, raw)
    assert masked(got) == masked(expected)
    return got


@pytest.fixture
def backends(transactional_db, make_provider, upstream, anthropic_upstream, responses_upstream):
    async def make() -> None:
        await asyncio.to_thread(make_provider, name="local", base_url=upstream.base_url, api_key="sk-local-123456")
        await asyncio.to_thread(make_provider, name="claude", provider_type="anthropic",
                                base_url=anthropic_upstream.base_url, api_key="sk-ant-provider-1234")
        await asyncio.to_thread(make_provider, name="codex", provider_type="codex",
                                base_url=responses_upstream.base_url, api_key="sk-codex-provider-1234")
    return make


def anthropic(key: str, **extra: str) -> dict[str, str]:
    return {"x-api-key": key, "anthropic-version": "2023-06-01", **extra}


@pytest.mark.parametrize("model", ["local/text", "local/tools", "local/reasoning", "local/status-503",
                                   "local/error-event", "claude/text", "claude/thinking", "claude/tools",
                                   "claude/status-529", "claude/error-event", "missing/text"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_messages_match_django(apps, backends, gateway_key, model, stream):
    await backends()
    got = await same(apps, "/v1/messages", anthropic(gateway_key, **{"anthropic-beta": "tools-2024-04-04"}),
                     {"model": model, "max_tokens": 16, "stream": stream, "messages": HI})
    if model in ("local/text", "claude/text"):
        assert got[0] == 200


@pytest.mark.parametrize("model", ["local/text", "claude/text", "missing/text"])
async def test_count_tokens_match_django(apps, backends, gateway_key, model):
    await backends()
    await same(apps, "/v1/messages/count_tokens", anthropic(gateway_key), {"model": model, "messages": HI})


@pytest.mark.parametrize("body", [
    {"model": "local/text", "input": "hi"},
    {"model": "local/text", "input": "hi", "stream": True},
    {"model": "local/tools", "input": "hi", "stream": True, "tools": [
        {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}, {"type": "web_search"}]},
    {"model": "local/status-429", "input": "hi"},
    {"model": "codex/text", "input": "hi"},
    {"model": "codex/tools", "input": "hi", "stream": True},
    {"model": "codex/ratelimited", "input": "hi"},
    {"model": "local/text", "input": "hi", "previous_response_id": "resp_1"},
    {"model": "local/text", "input": "hi", "stream": "yes"},
], ids=["plain", "stream", "tools", "upstream-429", "codex", "codex-stream", "codex-failed", "stored", "bad-stream"])
async def test_responses_match_django(apps, backends, gateway_key, body):
    await backends()
    await same(apps, "/v1/responses", {"Authorization": f"Bearer {gateway_key}", "Accept-Language": "vi"}, body)


@pytest.mark.parametrize("body", [
    {"model": "local/bge-m3", "input": ["hello world", "xin chào"], "encoding_format": "float"},
    {"model": "local/status-429", "input": "x"},
    {"model": "claude/text", "input": "x"},
    {"model": "local/bge-m3", "input": []},
])
async def test_embeddings_match_django(apps, backends, gateway_key, body):
    await backends()
    await same(apps, "/v1/embeddings", {"Authorization": f"Bearer {gateway_key}", "Accept-Language": "zh-CN"}, body)


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens", "/v1/responses", "/v1/embeddings"])
@pytest.mark.parametrize("headers", [{}, {"x-api-key": "gwk_not-a-key"}, {"Authorization": "Basic abc"},
                                     {"Authorization": "Bearer gwk_not-a-key", "Accept-Language": "vi"}])
async def test_authentication_errors_match_django(apps, transactional_db, path, headers):
    got = await same(apps, path, headers, {"model": "local/text", "messages": HI, "input": "x"})
    assert got[0] == 401


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/responses", "/v1/embeddings"])
@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"model": "local/text", "temperature": NaN}'])
async def test_malformed_bodies_match_django(apps, backends, gateway_key, path, body):
    await backends()
    got = await same(apps, path, anthropic(gateway_key), body)
    assert got[0] == 400


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens", "/v1/responses", "/v1/embeddings"])
async def test_wrong_method_matches_django(apps, transactional_db, gateway_key, path):
    got = await same(apps, path, anthropic(gateway_key), b"", method="GET")
    assert got[0] == 405 and ("allow", "POST") in got[1]


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/responses", "/v1/embeddings"])
async def test_body_limits_match_django(apps, transactional_db, gateway_key, settings, path):
    settings.GATEWAY_MAX_INFLIGHT_BODY_BYTES = 16
    fast, django_door = doors(apps)
    args = ("POST", path, anthropic(gateway_key), json.dumps({"model": "local/text", "input": "x" * 64}).encode())
    got, expected = await call(fast, *args), await call(django_door, *args)
    assert got == expected
    assert got[0] in (503, 529) and ("retry-after", "1") in got[1]


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/responses", "/v1/embeddings"])
async def test_a_bad_key_is_answered_before_the_body_is_read(apps, transactional_db, path):
    headers = {"x-api-key": "gwk_not-a-key", "Content-Length": str(10 * 1024 * 1024)}
    fast, django_door = doors(apps)
    expected = await call(django_door, "POST", path, headers, receive=EndlessBody())
    body = EndlessBody()
    assert await call(fast, "POST", path, headers, receive=body) == expected
    assert expected[0] == 401 and body.chunks == 0  # the fast path did not even ask for it
