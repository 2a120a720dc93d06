"""The official ``openai`` Python SDK pointed at the live gateway: completions with
and without streaming, model listing, and the SDK's error classes on failures."""
from __future__ import annotations

import openai
import pytest

from tests.fakes.openai_upstream import CREATED

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def client(live_gateway, gateway_key) -> openai.OpenAI:
    sdk = openai.OpenAI(base_url=f"{live_gateway.url}/v1", api_key=gateway_key, max_retries=0, timeout=20)
    yield sdk
    sdk.close()


@pytest.fixture
def local(make_provider, upstream):
    return make_provider(name="local", base_url=upstream.base_url, settings={"read_timeout": 1.5})


def test_create_without_stream(client, local):
    completion = client.chat.completions.create(model="local/text", messages=MESSAGES)
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "Hello from fake"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.total_tokens == 8


def test_create_with_stream(client, local):
    stream = client.chat.completions.create(
        model="local/text", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from fake"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 8


def test_streamed_tool_call_assembles(client, local):
    calls: dict[int, dict[str, str]] = {}
    for chunk in client.chat.completions.create(model="local/tools", messages=MESSAGES, stream=True):
        for call in chunk.choices[0].delta.tool_calls or []:
            entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += call.id or ""
            entry["name"] += (call.function.name or "") if call.function else ""
            entry["arguments"] += (call.function.arguments or "") if call.function else ""
    assert calls == {0: {"id": "call_abc", "name": "get_weather", "arguments": '{"city": "Hanoi"}'}}


def test_reasoning_content_reaches_the_sdk(client, local):
    chunks = list(client.chat.completions.create(model="local/reasoning", messages=MESSAGES, stream=True))
    reasoning = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks)
    assert reasoning == "Let me think carefully."


def test_models_list(client, local):
    models = client.models.list()
    assert [m.id for m in models] == ["local/text", "local/tools", "local/meta-llama/Llama-3-8B"]
    assert {m.owned_by for m in models} == {"local"}
    assert {m.created for m in models} == {CREATED}


def test_bad_key_raises_authentication_error(live_gateway, local):
    sdk = openai.OpenAI(base_url=f"{live_gateway.url}/v1", api_key="gwk_wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        sdk.chat.completions.create(model="local/text", messages=MESSAGES)
    assert info.value.status_code == 401
    assert info.value.code == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        sdk.models.list()


def test_unknown_model_raises_not_found(client, local):
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="nowhere/text", messages=MESSAGES)
    assert info.value.code == "model_not_found"


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_rate_limit_raises_rate_limit_error(client, local, stream):
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="local/status-429", messages=MESSAGES, stream=stream)
    assert info.value.response.headers["retry-after"] == "7"
    assert "fake says 429" in info.value.message


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_400_raises_bad_request(client, local, stream):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="local/status-400", messages=MESSAGES, stream=stream)
    assert info.value.code == "fake_400"


def test_upstream_401_raises_authentication_error(client, local):
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="local/status-401", messages=MESSAGES)


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_500_raises_internal_server_error(client, local, stream):
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="local/status-500", messages=MESSAGES, stream=stream)
    assert info.value.status_code == 502


def test_upstream_timeout_raises_a_504_status_error(client, local, upstream):
    upstream.slow_seconds = 8.0
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="local/slow", messages=MESSAGES)
    assert info.value.status_code == 504
    assert info.value.code == "upstream_timeout"


@pytest.mark.parametrize("model", ["local/error-event", "local/drop", "local/stall"])
def test_failure_mid_stream_raises_api_error(client, local, model):
    stream = client.chat.completions.create(model=model, messages=MESSAGES, stream=True)
    received = []
    with pytest.raises(openai.APIError):
        for chunk in stream:
            received.append(chunk)
    assert received, "the chunks before the failure must reach the client"


def test_models_retrieve(client, local):
    model = client.models.retrieve("local/meta-llama/Llama-3-8B")
    assert (model.id, model.owned_by, model.created) == ("local/meta-llama/Llama-3-8B", "local", CREATED)
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("local/absent")
