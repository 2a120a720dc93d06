"""Answers carry the model id the client used (``<provider>/<model>``), not the
upstream's bare name: the non-streamed answer and every stream chunk, on both
doors (the ASGI fast path and the Django views), for translated types, and on
the inbound surfaces (native Messages and Responses passthroughs, embeddings)."""
from __future__ import annotations

import json

import anthropic
import httpx
import pytest

from tests.contracts.http_api.helpers import sdk_client

HI = [{"role": "user", "content": "hi"}]


def _chat(base: str, key: str, model: str, stream: bool) -> list[dict]:
    """The answer (one dict) or every chunk of the stream (dicts)."""
    resp = httpx.post(f"{base}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": model, "messages": HI, "stream": stream}, timeout=20)
    assert resp.status_code == 200, resp.text
    if not stream:
        return [resp.json()]
    events = [line[6:] for line in resp.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    return [json.loads(e) for e in events[:-1]]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("door", ["fast", "django"])
def test_openai_compatible_answers_carry_the_requested_id(live_gateway, django_url, make_provider, upstream,
                                                          gateway_key, stream, door):
    make_provider(name="local", base_url=upstream.base_url)
    base = live_gateway.url if door == "fast" else django_url
    answers = _chat(base, gateway_key, "local/meta-llama/Llama-3-8B", stream)
    assert upstream.last().body["model"] == "meta-llama/Llama-3-8B"  # the upstream still gets its own name
    assert len(answers) >= (4 if stream else 1)
    assert {a["model"] for a in answers} == {"local/meta-llama/Llama-3-8B"}


def test_provider_default_model_answers_with_the_id_as_sent(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url, settings={"default_model": "text"})
    assert {a["model"] for a in _chat(live_gateway.url, gateway_key, "local", True)} == {"local"}


@pytest.mark.parametrize("stream", [False, True])
def test_translated_types_carry_the_requested_id(live_gateway, make_provider, anthropic_upstream, gateway_key, stream):
    make_provider(name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url,
                  api_key="sk-ant-requested-model")
    answers = _chat(live_gateway.url, gateway_key, "claude/claude-sonnet-4-5", stream)
    assert {a["model"] for a in answers} == {"claude/claude-sonnet-4-5"}


@pytest.mark.parametrize("stream", [False, True])
def test_native_messages_passthrough_carries_the_requested_id(live_gateway, make_provider, anthropic_upstream,
                                                              gateway_key, stream):
    make_provider(name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url,
                  api_key="sk-ant-requested-model")
    client = anthropic.Anthropic(base_url=live_gateway.url, api_key=gateway_key, max_retries=0)
    kwargs = {"model": "claude/claude-sonnet-4-5", "max_tokens": 50, "messages": HI}
    if stream:
        with client.messages.stream(**kwargs) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(**kwargs)
    assert message.model == "claude/claude-sonnet-4-5"
    assert message.content[0].text


@pytest.mark.parametrize("stream", [False, True])
def test_native_responses_passthrough_carries_the_requested_id(live_gateway, make_provider, responses_upstream,
                                                               gateway_key, stream):
    make_provider(name="codex", provider_type="codex", base_url=responses_upstream.base_url, api_key="sk-codex-x")
    with sdk_client(live_gateway, gateway_key, timeout=20) as client:
        if stream:
            events = list(client.responses.create(model="codex/gpt-5-codex", input="hi", stream=True))
            models = {e.response.model for e in events if hasattr(e, "response")}
            assert models == {"codex/gpt-5-codex"}
        else:
            assert client.responses.create(model="codex/gpt-5-codex", input="hi").model == "codex/gpt-5-codex"


def test_embeddings_carry_the_requested_id(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url)
    with sdk_client(live_gateway, gateway_key, timeout=20) as client:
        answer = client.embeddings.create(model="local/text-embedding-3-small", input="hi")
    assert answer.model == "local/text-embedding-3-small"
