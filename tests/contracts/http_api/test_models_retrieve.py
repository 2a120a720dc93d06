"""``GET /v1/models/{provider}/{model}`` (the SDK's ``models.retrieve``): one entry
of the listing, or 404 ``model_not_found``."""
from __future__ import annotations

import httpx
import pytest

from tests.fakes.openai_upstream import CREATED


def get(url: str, key: str | None, model: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.get(f"{url}/v1/models/{model}", headers=headers, timeout=20)


@pytest.mark.parametrize("model", ["local/text", "local/meta-llama/Llama-3-8B"])
def test_retrieve_a_listed_model(live_gateway, make_provider, upstream, gateway_key, model):
    make_provider(name="local", base_url=upstream.base_url)
    resp = get(live_gateway.url, gateway_key, model)
    assert resp.status_code == 200
    assert resp.json() == {"id": model, "object": "model", "created": CREATED, "owned_by": "local"}


@pytest.mark.parametrize("model", ["local/absent", "nowhere/text", "off/text", "local/tools"])
def test_unlisted_unknown_or_filtered_models_are_404(live_gateway, make_provider, upstream, gateway_key, model):
    make_provider(name="local", base_url=upstream.base_url, settings={"allowed_models": ["text"]})
    make_provider(name="off", base_url=upstream.base_url, enabled=False)
    resp = get(live_gateway.url, gateway_key, model)
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "model_not_found"


def test_retrieve_needs_a_gateway_key(live_gateway, make_provider, upstream, transactional_db):
    make_provider(name="local", base_url=upstream.base_url)
    resp = get(live_gateway.url, None, "local/text")
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "invalid_api_key"
