"""An ``anthropic`` provider lists its models from the upstream ``GET /models``,
following its pages (``has_more``/``last_id`` → ``after_id``)."""
from __future__ import annotations

import httpx
import openai


def test_anthropic_models_follow_every_page(make_provider, anthropic_upstream, live_gateway, gateway_key):
    anthropic_upstream.model_ids = [f"claude-model-{i:04d}" for i in range(2500)]
    make_provider(name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url, api_key="sk-ant-xyz-1")
    with openai.OpenAI(base_url=live_gateway.url + "/v1", api_key=gateway_key, max_retries=0) as client:
        ids = [m.id for m in client.models.list()]
    assert ids == [f"claude/claude-model-{i:04d}" for i in range(2500)]
    pages = [r for r in anthropic_upstream.requests if r.path == "/v1/models"]
    assert [r.query.get("after_id") for r in pages] == [None, "claude-model-0999", "claude-model-1999"]
    assert all(r.headers["x-api-key"] == "sk-ant-xyz-1" for r in pages)


def test_anthropic_model_entries_have_the_openai_shape(make_provider, anthropic_upstream, live_gateway, gateway_key):
    make_provider(name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url, api_key="sk-ant-xyz-1")
    body = httpx.get(live_gateway.url + "/v1/models", headers={"Authorization": f"Bearer {gateway_key}"}).json()
    entry = next(m for m in body["data"] if m["id"] == "claude/claude-sonnet-4-5-20250929")
    assert entry == {"id": "claude/claude-sonnet-4-5-20250929", "object": "model", "created": 1739923200, "owned_by": "claude"}


def test_anthropic_models_fall_back_to_the_configured_list(make_provider, anthropic_upstream, live_gateway, gateway_key):
    make_provider(name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url + "/nowhere",
                  api_key="sk-ant-xyz-1", settings={"models": ["claude-a", "claude-b"]})
    body = httpx.get(live_gateway.url + "/v1/models", headers={"Authorization": f"Bearer {gateway_key}"}).json()
    assert [m["id"] for m in body["data"]] == ["claude/claude-a", "claude/claude-b"]
