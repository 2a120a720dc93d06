"""A ``dashscope`` provider: non-streaming calls get ``enable_thinking: false``
(DashScope rejects thinking outside streams) unless the client chose; streams
pass ``reasoning_content`` through untouched, in the same shapes as ``custom``."""
from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.contracts.http_api.helpers import as_requested
from tests.fakes.responses_upstream import shape_of

SECRET = "sk-dashscope-secret-3131"


@pytest.fixture
def dashscope(make_provider, upstream):
    make_provider(name="qwen", provider_type="dashscope", base_url=upstream.base_url, api_key=SECRET)
    return upstream


@pytest.fixture
def client(live_gateway, gateway_key):
    return openai.OpenAI(base_url=live_gateway.url + "/v1", api_key=gateway_key, max_retries=0, timeout=20)


def test_dashscope_non_streaming_call_turns_thinking_off(dashscope, client):
    completion = client.chat.completions.create(model="qwen/reasoning", messages=[{"role": "user", "content": "?"}])
    assert completion.choices[0].message.content == "42"
    assert completion.choices[0].message.model_extra["reasoning_content"] == "Let me think carefully."
    seen = dashscope.last()
    assert seen.body["enable_thinking"] is False
    assert seen.body["model"] == "reasoning"
    assert seen.headers["authorization"] == f"Bearer {SECRET}"


def test_dashscope_client_choice_of_thinking_is_kept(dashscope, client):
    completion = client.chat.completions.create(model="qwen/text", messages=[{"role": "user", "content": "hi"}],
                                                extra_body={"enable_thinking": False})
    assert completion.choices[0].message.content == "Hello from fake"
    assert dashscope.last().body["enable_thinking"] is False
    # Thinking on without a stream is the client's explicit choice: DashScope's 400 comes back as is.
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="qwen/text", messages=[{"role": "user", "content": "hi"}],
                                       extra_body={"enable_thinking": True})
    assert "enable_thinking must be set to false for non-streaming calls" in caught.value.message
    assert dashscope.last().body["enable_thinking"] is True
    assert SECRET not in json.dumps(caught.value.body)


def test_dashscope_stream_passes_reasoning_content_through(dashscope, client):
    chunks = list(client.chat.completions.create(
        model="qwen/reasoning", messages=[{"role": "user", "content": "?"}], stream=True,
        stream_options={"include_usage": True},
    ))
    reasoning = "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content") or "" for c in chunks if c.choices)
    assert reasoning == "Let me think carefully."
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "42"
    assert chunks[-1].usage.total_tokens == 8
    assert "enable_thinking" not in dashscope.last().body


@pytest.mark.parametrize("stream", [False, True])
def test_dashscope_has_the_custom_shapes(dashscope, make_provider, live_gateway, gateway_key, stream):
    make_provider(name="custom", base_url=dashscope.base_url)

    def answer(model):
        resp = httpx.post(live_gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {gateway_key}"},
                          json={"model": model, "stream": stream, "messages": [{"role": "user", "content": "?"}]})
        assert resp.status_code == 200
        if not stream:
            return resp.json()
        return [json.loads(f[6:]) for f in resp.text.split("\n\n") if f and f != "data: [DONE]"]

    assert shape_of(answer("qwen/reasoning")) == shape_of(answer("custom/reasoning"))
    assert answer("qwen/reasoning") == as_requested(answer("custom/reasoning"), "qwen/reasoning")
