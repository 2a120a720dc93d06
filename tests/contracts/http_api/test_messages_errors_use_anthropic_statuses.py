"""/v1/messages says every failure the way the Anthropic API would: its error
shape, and its statuses and types (529 ``overloaded_error`` for an overloaded
backend or gateway, 500 ``api_error`` for a failed one, 504 ``timeout_error``),
whichever provider type answers; other /v1/messages paths are Anthropic 404s."""
from __future__ import annotations

import httpx
import pytest

HI = [{"role": "user", "content": "hi"}]


def post(gateway, key: str, model: str, path: str = "/v1/messages", **extra) -> httpx.Response:
    with httpx.Client(base_url=gateway.url, timeout=20) as client:
        return client.post(path, headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
                           json={"model": model, "max_tokens": 8, "messages": HI, **extra})


def anthropic_error(resp: httpx.Response) -> tuple[int, str]:
    body = resp.json()
    assert body == {"type": "error", "error": {"type": body["error"]["type"], "message": body["error"]["message"]}}
    return resp.status_code, body["error"]["type"]


@pytest.mark.parametrize(("model", "expected"), [
    ("local/status-503", (529, "overloaded_error")),
    ("local/status-500", (500, "api_error")),
    ("local/plain-502", (500, "api_error")),
    ("local/status-422", (400, "invalid_request_error")),
    ("local/status-429", (429, "rate_limit_error")),
    ("claude/status-529", (529, "overloaded_error")),
    ("claude/status-500", (500, "api_error")),
    ("claude/status-413", (413, "request_too_large")),
])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_backend_failures_get_anthropic_statuses(live_gateway, gateway_key, make_provider, upstream,
                                                  anthropic_upstream, model, expected, stream):
    make_provider(name="local", base_url=upstream.base_url)
    make_provider(name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url, api_key="k")
    assert anthropic_error(post(live_gateway, gateway_key, model, stream=stream)) == expected


def test_a_backend_too_slow_is_a_timeout_error(live_gateway, gateway_key, make_provider, upstream):
    make_provider(name="local", base_url=upstream.base_url, settings={"read_timeout": 0.3})
    assert anthropic_error(post(live_gateway, gateway_key, "local/slow")) == (504, "timeout_error")


def test_the_gateway_overloaded_is_529_with_retry_after(live_gateway, gateway_key, settings):
    settings.GATEWAY_MAX_INFLIGHT_BODY_BYTES = 16
    resp = post(live_gateway, gateway_key, "local/text")
    assert anthropic_error(resp) == (529, "overloaded_error")
    assert resp.headers["retry-after"] == "1"


def test_other_messages_paths_are_anthropic_404s_after_the_key(live_gateway, gateway_key):
    assert anthropic_error(post(live_gateway, gateway_key, "local/text", "/v1/messages/batches")) == (
        404, "not_found_error")
    assert anthropic_error(post(live_gateway, "gwk_wrong", "local/text", "/v1/messages/batches")) == (
        401, "authentication_error")
