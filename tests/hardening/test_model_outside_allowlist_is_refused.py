"""A key's model allowlist (patterns over the model ids clients send) refuses any
other model as an unknown one (404 ``model_not_found``, as a provider outside the
key's providers is: nothing tells the client what exists), on every /v1 surface
and both request paths; ``/v1/models`` lists only what the key may use."""
from __future__ import annotations

import httpx

from providers import services

MESSAGES = [{"role": "user", "content": "hi"}]


def _chat(client: httpx.Client, raw: str, model: str, **extra) -> httpx.Response:
    return client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {raw}"},
                       json={"model": model, "messages": MESSAGES, **extra})


def _assert_not_found(response: httpx.Response, model: str) -> None:
    assert response.status_code == 404, response.text
    assert response.json() == {"error": {"message": response.json()["error"]["message"],
                                         "type": "invalid_request_error", "param": "model",
                                         "code": "model_not_found"}}
    assert model in response.json()["error"]["message"]


def test_models_outside_the_allowlist_are_refused(any_gateway, upstream, make_provider):
    make_provider(name="local", base_url=upstream.base_url, settings={"default_model": "text"})
    make_provider(name="other", base_url=upstream.base_url)
    _key, raw = services.gateway_key_create(name="narrow", allowed_models=["local/t*"])
    with httpx.Client(base_url=any_gateway.url, timeout=10) as client:
        assert _chat(client, raw, "local/text").status_code == 200
        assert _chat(client, raw, "local/tools", stream=True).status_code == 200
        assert _chat(client, raw, "local").status_code == 200  # the default model, local/text, is allowed
        seen = len(upstream.requests)
        _assert_not_found(_chat(client, raw, "local/status-500"), "local/status-500")
        _assert_not_found(_chat(client, raw, "local/status-500", stream=True), "local/status-500")
        _assert_not_found(_chat(client, raw, "other/text"), "other/text")
    assert len(upstream.requests) == seen  # refused before any upstream call


def test_models_list_shows_only_allowed_models(any_gateway, upstream, make_provider):
    make_provider(name="local", base_url=upstream.base_url)
    make_provider(name="other", base_url=upstream.base_url)
    _key, raw = services.gateway_key_create(name="narrow", allowed_models=["local/text", "local/meta-llama/*"])
    _all, everything = services.gateway_key_create(name="wide")
    bearer = {"Authorization": f"Bearer {raw}"}
    with httpx.Client(base_url=any_gateway.url, timeout=10) as client:
        listed = client.get("/v1/models", headers=bearer).json()
        wide = client.get("/v1/models", headers={"Authorization": f"Bearer {everything}"}).json()
        allowed_ids = {m["id"] for m in listed["data"]}
        assert allowed_ids == {"local/text", "local/meta-llama/Llama-3-8B"}
        assert {"local/tools", "other/text"} <= {m["id"] for m in wide["data"]}
        assert client.get("/v1/models/local/text", headers=bearer).status_code == 200
        hidden = next(m["id"] for m in wide["data"] if m["id"] not in allowed_ids)
        assert client.get(f"/v1/models/{hidden}", headers=bearer).status_code == 404


def test_inbound_surfaces_apply_the_allowlist(any_gateway, upstream, make_provider):
    make_provider(name="local", base_url=upstream.base_url)
    _key, raw = services.gateway_key_create(name="narrow", allowed_models=["local/text", "local/embed-*"])
    bearer = {"Authorization": f"Bearer {raw}"}
    with httpx.Client(base_url=any_gateway.url, timeout=10) as client:
        ok = client.post("/v1/embeddings", headers=bearer, json={"model": "local/embed-small", "input": "hi"})
        assert ok.status_code == 200, ok.text
        _assert_not_found(client.post("/v1/embeddings", headers=bearer, json={"model": "local/e", "input": "hi"}),
                          "local/e")
        _assert_not_found(client.post("/v1/responses", headers=bearer, json={"model": "local/tools", "input": "hi"}),
                          "local/tools")
        assert client.post("/v1/responses", headers=bearer,
                           json={"model": "local/text", "input": "hi"}).status_code == 200
        denied = client.post("/v1/messages", headers={"x-api-key": raw},
                             json={"model": "local/tools", "max_tokens": 8, "messages": MESSAGES})
    assert denied.status_code == 404 and denied.json()["error"]["type"] == "not_found_error"


def test_the_allowlist_narrows_the_provider_restriction_never_widens_it(any_gateway, upstream, make_provider):
    local = make_provider(name="local", base_url=upstream.base_url)
    make_provider(name="other", base_url=upstream.base_url)
    _key, raw = services.gateway_key_create(name="both", providers=[local], allowed_models=["*"])
    with httpx.Client(base_url=any_gateway.url, timeout=10) as client:
        assert _chat(client, raw, "local/text").status_code == 200
        _assert_not_found(_chat(client, raw, "other/text"), "other/text")
