"""``GET /v1/models``: the OpenAI list shape over every enabled provider the key
may use, ids ``<provider>/<model>``, live from the backend's ``/models`` (cached
briefly), or the provider's configured list when the backend has none."""
from __future__ import annotations

import socket

import httpx
import pytest

from tests.fakes.openai_upstream import CREATED


def get_models(url: str, key: str) -> httpx.Response:
    return httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=20)


def entry(model_id: str, owner: str, created: int) -> dict:
    return {"id": model_id, "object": "model", "created": created, "owned_by": owner}


def test_live_models_in_the_openai_list_shape(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url)
    resp = get_models(live_gateway.url, gateway_key)
    assert resp.status_code == 200
    assert resp.json() == {
        "object": "list",
        "data": [
            entry("local/text", "local", CREATED),
            entry("local/tools", "local", CREATED),
            entry("local/meta-llama/Llama-3-8B", "local", CREATED),
        ],
        "sources": {"local": "upstream"},
    }


def test_bare_array_without_created_or_owned_by_is_normalised(live_gateway, make_provider, upstream, gateway_key):
    upstream.models_shape = "bare"
    provider = make_provider(name="local", base_url=upstream.base_url)
    created = int(provider.created_at.timestamp())
    body = get_models(live_gateway.url, gateway_key).json()
    assert body["object"] == "list"
    assert body["data"] == [
        entry("local/text", "local", created),
        entry("local/tools", "local", created),
        entry("local/meta-llama/Llama-3-8B", "local", created),
    ]
    assert body["sources"] == {"local": "upstream"}


@pytest.mark.parametrize("shape", [None, "html"])
def test_backend_without_models_endpoint_falls_back_to_configured_models(
    live_gateway, make_provider, upstream, gateway_key, shape
):
    upstream.models_shape = shape  # None: 404; "html": 200 but not JSON
    provider = make_provider(name="local", base_url=upstream.base_url, settings={"models": ["llama3", "qwen2.5:7b"]})
    created = int(provider.created_at.timestamp())
    body = get_models(live_gateway.url, gateway_key).json()
    assert body == {
        "object": "list",
        "data": [entry("local/llama3", "local", created), entry("local/qwen2.5:7b", "local", created)],
        "sources": {"local": "configured"},
    }
    assert any(r.path == "/v1/models" for r in upstream.requests)


def test_unreachable_backend_falls_back_to_configured_models(live_gateway, make_provider, upstream, gateway_key):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    make_provider(name="dead", base_url=f"http://127.0.0.1:{port}/v1", settings={"models": ["m1"]})
    make_provider(name="local", base_url=upstream.base_url)
    body = get_models(live_gateway.url, gateway_key).json()
    assert [m["id"] for m in body["data"] if m["owned_by"] == "dead"] == ["dead/m1"]
    assert body["sources"] == {"dead": "configured", "local": "upstream"}
    assert len(body["data"]) == 4


def test_allowlist_filters_the_listing(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url, settings={"allowed_models": ["tools", "meta-llama/Llama-3-8B"]})
    body = get_models(live_gateway.url, gateway_key).json()
    assert [m["id"] for m in body["data"]] == ["local/tools", "local/meta-llama/Llama-3-8B"]


def test_only_enabled_providers_the_key_may_use(live_gateway, make_provider, upstream, transactional_db):
    from providers import services

    mine = make_provider(name="mine", base_url=upstream.base_url, settings={"allowed_models": ["text"]})
    make_provider(name="theirs", base_url=upstream.base_url)
    make_provider(name="off", base_url=upstream.base_url, enabled=False)
    _key, raw = services.gateway_key_create(name="limited", providers=[mine])
    _key, everything = services.gateway_key_create(name="everything")

    assert [m["id"] for m in get_models(live_gateway.url, raw).json()["data"]] == ["mine/text"]
    owners = {m["owned_by"] for m in get_models(live_gateway.url, everything).json()["data"]}
    assert owners == {"mine", "theirs"}


def test_live_listing_is_cached_briefly(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url)
    first = get_models(live_gateway.url, gateway_key).json()
    second = get_models(live_gateway.url, gateway_key).json()
    assert first == second
    assert len([r for r in upstream.requests if r.path == "/v1/models"]) == 1


def test_models_needs_a_gateway_key(live_gateway, make_provider, upstream, transactional_db):
    make_provider(name="local", base_url=upstream.base_url)
    resp = httpx.get(f"{live_gateway.url}/v1/models")
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "invalid_api_key"
    assert upstream.requests == []
