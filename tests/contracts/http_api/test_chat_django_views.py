"""The plain Django views (``chat.views``, served by Django's own ASGI handler)
and the raw ASGI fast path of ``chat.fastpath`` answer /v1 identically: same
status, body and the headers that matter, for successes and failures alike."""
from __future__ import annotations

import httpx
import pytest

MESSAGES = [{"role": "user", "content": "hi"}]


def chat(base: str, key: str | None, body: dict, method: str = "POST") -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.request(method, f"{base}/v1/chat/completions", headers=headers, json=body, timeout=20)


CASES = [
    ("text", False),
    ("text", True),
    ("tools", True),
    ("no-done", True),
    ("status-400", False),
    ("status-429", True),
    ("status-500", False),
    ("error-event", True),
    ("drop", True),
    ("plain-400", True),
]


@pytest.mark.parametrize(("model", "stream"), CASES)
def test_same_answer_from_both_paths(live_gateway, django_url, make_provider, upstream, gateway_key, model, stream):
    make_provider(name="local", base_url=upstream.base_url)
    body = {"model": f"local/{model}", "stream": stream, "messages": MESSAGES}
    fast = chat(live_gateway.url, gateway_key, body)
    slow = chat(django_url, gateway_key, body)
    assert (slow.status_code, slow.content) == (fast.status_code, fast.content)
    for header in ("content-type", "cache-control", "x-accel-buffering", "retry-after"):
        assert slow.headers.get(header) == fast.headers.get(header), header


@pytest.mark.parametrize(
    ("key", "body", "method"),
    [
        (None, {"model": "local/text", "messages": MESSAGES}, "POST"),
        ("gwk_wrong", {"model": "local/text", "messages": MESSAGES}, "POST"),
        ("VALID", {"model": "nowhere/text", "messages": MESSAGES}, "POST"),
        ("VALID", {"model": "local/text"}, "POST"),
        ("VALID", {}, "GET"),
    ],
)
def test_same_errors_from_both_paths(live_gateway, django_url, make_provider, upstream, gateway_key, key, body, method):
    make_provider(name="local", base_url=upstream.base_url)
    key = gateway_key if key == "VALID" else key
    fast = chat(live_gateway.url, key, body, method)
    slow = chat(django_url, key, body, method)
    assert fast.status_code >= 400
    assert (slow.status_code, slow.json()) == (fast.status_code, fast.json())
    assert slow.headers.get("allow") == fast.headers.get("allow")


def test_same_model_list_from_both_paths(live_gateway, django_url, make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url, settings={"allowed_models": ["text", "tools"]})
    headers = {"Authorization": f"Bearer {gateway_key}"}
    fast = httpx.get(f"{live_gateway.url}/v1/models", headers=headers)
    slow = httpx.get(f"{django_url}/v1/models", headers=headers)
    assert fast.status_code == slow.status_code == 200
    assert fast.json() == slow.json()
    assert [m["id"] for m in slow.json()["data"]] == ["local/text", "local/tools"]
