"""``model`` is ``<provider>/<upstream id>``: routing, defaults, and the 404
``model_not_found`` answers for everything a client may not reach."""
from __future__ import annotations

import httpx
import pytest

MESSAGES = [{"role": "user", "content": "hi"}]


def post(url: str, key: str, body: dict) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=body, timeout=20)


def assert_model_not_found(resp: httpx.Response, model: str) -> None:
    assert resp.status_code == 404
    error = resp.json()["error"]
    assert error["code"] == "model_not_found"
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "model"
    assert model in error["message"]


def test_upstream_id_with_slashes_is_split_at_the_first_slash(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url)
    resp = post(live_gateway.url, gateway_key, {"model": "local/meta-llama/Llama-3-8B", "messages": MESSAGES})
    assert resp.status_code == 200
    assert upstream.last().body["model"] == "meta-llama/Llama-3-8B"


@pytest.mark.parametrize("model", ["local", "local/"])
def test_provider_alone_uses_its_default_model(live_gateway, make_provider, upstream, gateway_key, model):
    make_provider(name="local", base_url=upstream.base_url, settings={"default_model": "tools"})
    resp = post(live_gateway.url, gateway_key, {"model": model, "messages": MESSAGES})
    assert resp.status_code == 200
    assert upstream.last().body["model"] == "tools"


def test_provider_alone_without_default_model_is_404(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url)
    resp = post(live_gateway.url, gateway_key, {"model": "local", "messages": MESSAGES})
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "model_not_found"
    assert upstream.requests == []


def test_unknown_provider_is_404(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url)
    resp = post(live_gateway.url, gateway_key, {"model": "nowhere/text", "messages": MESSAGES})
    assert_model_not_found(resp, "nowhere/text")


def test_disabled_provider_is_404(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="off", base_url=upstream.base_url, enabled=False)
    resp = post(live_gateway.url, gateway_key, {"model": "off/text", "messages": MESSAGES})
    assert_model_not_found(resp, "off/text")
    assert upstream.requests == []


def test_model_outside_the_allowlist_is_404(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url, settings={"allowed_models": ["text"]})
    assert post(live_gateway.url, gateway_key, {"model": "local/text", "messages": MESSAGES}).status_code == 200
    resp = post(live_gateway.url, gateway_key, {"model": "local/tools", "stream": True, "messages": MESSAGES})
    assert_model_not_found(resp, "local/tools")
    assert [r.body["model"] for r in upstream.requests] == ["text"]


def test_key_limited_to_some_providers_cannot_reach_others(live_gateway, make_provider, upstream, transactional_db):
    from providers import services

    allowed = make_provider(name="allowed", base_url=upstream.base_url)
    make_provider(name="other", base_url=upstream.base_url)
    _key, raw = services.gateway_key_create(name="limited", providers=[allowed])
    assert post(live_gateway.url, raw, {"model": "allowed/text", "messages": MESSAGES}).status_code == 200
    assert_model_not_found(post(live_gateway.url, raw, {"model": "other/text", "messages": MESSAGES}), "other/text")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": MESSAGES}, "model"),
        ({"model": "", "messages": MESSAGES}, "model"),
        ({"model": 42, "messages": MESSAGES}, "model"),
        ({"model": "local/text"}, "messages"),
        ({"model": "local/text", "messages": "hi"}, "messages"),
        ({"model": "local/text", "messages": MESSAGES, "stream": "yes"}, "stream"),
    ],
)
def test_malformed_requests_are_400_in_the_openai_shape(live_gateway, make_provider, upstream, gateway_key, body, param):
    make_provider(name="local", base_url=upstream.base_url)
    resp = post(live_gateway.url, gateway_key, body)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert upstream.requests == []


def test_body_that_is_not_json_is_400(live_gateway, gateway_key):
    resp = httpx.post(
        f"{live_gateway.url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {gateway_key}", "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "invalid_json"
