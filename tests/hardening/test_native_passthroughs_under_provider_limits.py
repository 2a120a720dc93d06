"""The inbound surfaces' native passthroughs (/v1/messages to an ``anthropic``
provider, /v1/responses to a ``codex`` one, /v1/embeddings, count_tokens) are
under the provider's ``max_concurrency`` and ``retries`` like chat completions,
and their answers' usage settles the key's token reservation."""
from __future__ import annotations

import httpx
import pytest
from django.core.cache import cache

from chat import limits
from providers import services
from tests.conftest import wait_until
from tests.fakes.anthropic_upstream import USAGE_IN, USAGE_OUT
from tests.fakes.responses_upstream import USAGE

from .conftest import FROZEN_NOW

HI = [{"role": "user", "content": "hi"}]


def messages_body(model: str, stream: bool = False) -> dict:
    return {"model": model, "max_tokens": 8, "stream": stream, "messages": HI}


def anthropic_headers(key: str) -> dict[str, str]:
    return {"x-api-key": key, "anthropic-version": "2023-06-01"}


@pytest.fixture
def claude(make_provider, anthropic_upstream):
    def make(**settings):
        make_provider(name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url,
                      api_key="sk-ant-provider", settings=settings)
        return anthropic_upstream
    return make


@pytest.fixture
def codex(make_provider, responses_upstream):
    def make(**settings):
        make_provider(name="codex", provider_type="codex", base_url=responses_upstream.base_url, api_key="sk-c",
                      settings=settings)
        return responses_upstream
    return make


def test_messages_passthrough_holds_a_slot_and_over_the_cap_gets_anthropic_429(live_gateway, gateway_key, claude):
    claude(max_concurrency=1, read_timeout=30.0)
    headers = anthropic_headers(gateway_key)
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        with client.stream("POST", "/v1/messages", headers=headers, json=messages_body("claude/stall", True)) as held:
            assert held.status_code == 200
            chunks = held.iter_bytes()
            next(chunks)
            assert limits.in_flight("claude") == 1
            over = client.post("/v1/messages", headers=headers, json=messages_body("claude/text"))
            counted = client.post("/v1/messages/count_tokens", headers=headers, json=messages_body("claude/text"))
        assert wait_until(lambda: limits.in_flight("claude") == 0)
        again = client.post("/v1/messages", headers=headers, json=messages_body("claude/text"))
    for refused in (over, counted):
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert refused.json() == {"type": "error", "error": {"type": "rate_limit_error",
                                                             "message": refused.json()["error"]["message"]}}
    assert again.status_code == 200 and again.json()["content"][0]["text"] == "Hello from fake"


def test_responses_passthrough_holds_a_slot(live_gateway, gateway_key, codex):
    codex(max_concurrency=1, read_timeout=30.0)
    headers = {"Authorization": f"Bearer {gateway_key}"}
    body = {"model": "codex/stall", "input": "hi", "stream": True}
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        with client.stream("POST", "/v1/responses", headers=headers, json=body) as held:
            assert held.status_code == 200
            chunks = held.iter_bytes()
            next(chunks)
            assert limits.in_flight("codex") == 1
            over = client.post("/v1/responses", headers=headers, json={**body, "model": "codex/text"})
        assert wait_until(lambda: limits.in_flight("codex") == 0)
        again = client.post("/v1/responses", headers=headers, json={"model": "codex/text", "input": "hi"})
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "concurrency_limit_exceeded"
    assert again.status_code == 200 and again.json()["status"] == "completed"


def test_embeddings_share_the_providers_cap_with_chat(live_gateway, gateway_key, make_provider, upstream):
    make_provider(name="local", base_url=upstream.base_url, settings={"max_concurrency": 1, "read_timeout": 30.0})
    headers = {"Authorization": f"Bearer {gateway_key}"}
    chat = {"model": "local/stall", "stream": True, "messages": HI}
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        with client.stream("POST", "/v1/chat/completions", headers=headers, json=chat) as held:
            chunks = held.iter_bytes()
            next(chunks)
            over = client.post("/v1/embeddings", headers=headers, json={"model": "local/e", "input": "x"})
        assert wait_until(lambda: limits.in_flight("local") == 0)
        again = client.post("/v1/embeddings", headers=headers, json={"model": "local/e", "input": "x"})
    assert over.status_code == 429 and over.json()["error"]["code"] == "concurrency_limit_exceeded"
    assert again.status_code == 200 and limits.in_flight("local") == 0


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "plain"])
def test_messages_passthrough_is_retried_before_the_first_byte(stream, live_gateway, gateway_key, claude):
    fake = claude(retries=2)
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        resp = client.post("/v1/messages", headers=anthropic_headers(gateway_key),
                           json=messages_body("claude/flaky-2", stream))
    assert resp.status_code == 200, resp.text
    assert ("event: message_stop" in resp.text) if stream else resp.json()["stop_reason"] == "end_turn"
    assert sum(1 for r in fake.message_requests() if r.body["model"] == "flaky-2") == 3


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "plain"])
def test_responses_passthrough_is_retried_before_the_first_byte(stream, live_gateway, gateway_key, codex):
    fake = codex(retries=2)
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        resp = client.post("/v1/responses", headers={"Authorization": f"Bearer {gateway_key}"},
                           json={"model": "codex/flaky-2", "input": "hi", "stream": stream})
    assert resp.status_code == 200, resp.text
    assert ("event: response.completed" in resp.text) if stream else resp.json()["status"] == "completed"
    assert sum(1 for r in fake.requests if r.body["model"] == "flaky-2") == 3


def test_embeddings_are_retried_and_give_up_after_the_configured_number(live_gateway, gateway_key, make_provider,
                                                                         upstream):
    make_provider(name="local", base_url=upstream.base_url, settings={"retries": 1})
    headers = {"Authorization": f"Bearer {gateway_key}"}
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        ok = client.post("/v1/embeddings", headers=headers, json={"model": "local/flaky-1", "input": "x"})
        failed = client.post("/v1/embeddings", headers=headers, json={"model": "local/flaky-5", "input": "x"})
    assert ok.status_code == 200 and ok.json()["data"][0]["embedding"] == [0.0, 1.0, 0.5]
    assert failed.status_code == 502 and failed.json()["error"]["code"] == "fake_503"
    tried = [r.body["model"] for r in upstream.requests if r.path == "/v1/embeddings"]
    assert tried.count("flaky-1") == 2 and tried.count("flaky-5") == 2


def test_native_answers_settle_the_keys_tokens_with_their_usage(live_gateway, frozen_window, claude, codex):
    claude()
    codex()
    key, raw = services.gateway_key_create(name="tpm", rate_limit_tpm=100_000)
    counter = f"gw:rl:t:{key.id}:{int(FROZEN_NOW // limits.WINDOW_SECONDS)}"
    used = 0

    def counted() -> int:
        return int(cache.get(counter) or 0)

    def settled_at(total: int) -> bool:
        return wait_until(lambda: counted() == total)

    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        for stream in (False, True):
            resp = client.post("/v1/messages", headers=anthropic_headers(raw),
                               json=messages_body("claude/text", stream))
            assert resp.status_code == 200
            used += USAGE_IN + USAGE_OUT
            assert settled_at(used), counted()
        for stream in (False, True):
            resp = client.post("/v1/responses", headers={"Authorization": f"Bearer {raw}"},
                               json={"model": "codex/text", "input": "hi", "stream": stream})
            assert resp.status_code == 200
            used += USAGE["total_tokens"]
            assert settled_at(used), counted()
        # Counting tokens generates none, exact or estimated.
        for model in ("claude/text", "nowhere-else/x"):
            client.post("/v1/messages/count_tokens", headers=anthropic_headers(raw), json=messages_body(model))
        assert counted() == used
