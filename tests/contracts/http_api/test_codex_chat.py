"""The ``codex`` provider type: chat completions through the Responses API, with the
official OpenAI SDK against a live gateway and a real Responses server on loopback."""
from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.contracts.http_api.helpers import sdk_client

SECRET = "sk-codex-upstream-secret-9876"
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}}]


@pytest.fixture
def codex(make_provider, responses_upstream):
    return make_provider(
        name="codex", provider_type="codex", base_url=responses_upstream.base_url, api_key=SECRET,
        settings={"account_id": "acct-123", "models": ["gpt-5-codex", "text"]},
    )


@pytest.fixture
def client(live_gateway, gateway_key):
    return sdk_client(live_gateway, gateway_key, timeout=20)


def test_codex_non_streaming_text_is_collected_from_the_stream(codex, client, responses_upstream):
    completion = client.chat.completions.create(
        model="codex/text",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
    )
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == "Hello from fake"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.prompt_tokens == 5
    assert completion.usage.completion_tokens == 3
    assert completion.usage.total_tokens == 8
    seen = responses_upstream.last()
    assert seen.path == "/backend-api/codex/responses"
    assert seen.headers["authorization"] == f"Bearer {SECRET}"
    assert seen.headers["chatgpt-account-id"] == "acct-123"
    assert seen.body == {
        "model": "text",
        "instructions": "Be brief.",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
        "store": False,
        "stream": True,
    }


def test_codex_streams_text_as_openai_chunks(codex, client):
    stream = client.chat.completions.create(
        model="codex/text", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from fake"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage.total_tokens == 8
    assert len({c.id for c in chunks}) == 1


def test_codex_tool_round_trip_is_translated_to_responses_items(codex, client, responses_upstream):
    stream = client.chat.completions.create(
        model="codex/tools", stream=True, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_weather"}},
        messages=[
            {"role": "developer", "content": "Use tools."},
            {"role": "user", "content": [
                {"type": "text", "text": "Weather?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ]},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Hue\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
    )
    chunks = list(stream)
    calls = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
    assert calls[0].id == "call_abc" and calls[0].function.name == "get_weather" and calls[0].index == 0
    assert "".join(tc.function.arguments or "" for tc in calls) == "{\"city\": \"Hanoi\"}"
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    body = responses_upstream.last().body
    assert body["instructions"] == "Use tools."
    assert body["tools"] == [{
        "type": "function", "name": "get_weather", "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }]
    assert body["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert body["input"] == [
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "Weather?"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"},
        ]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Hue\"}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
    ]


def test_codex_non_streaming_tool_call(codex, client):
    completion = client.chat.completions.create(
        model="codex/tools", tools=TOOLS, messages=[{"role": "user", "content": "Weather in Hanoi?"}],
    )
    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "tool_calls"
    assert message.content is None
    assert len(message.tool_calls) == 1
    assert message.tool_calls[0].id == "call_abc"
    assert message.tool_calls[0].type == "function"
    assert message.tool_calls[0].function.name == "get_weather"
    assert json.loads(message.tool_calls[0].function.arguments) == {"city": "Hanoi"}


def test_codex_reasoning_summary_becomes_reasoning_content(codex, client, responses_upstream):
    chunks = list(client.chat.completions.create(
        model="codex/reasoning", messages=[{"role": "user", "content": "?"}], stream=True, reasoning_effort="high",
        stream_options={"include_usage": True},
    ))
    reasoning = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks if c.choices)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert reasoning == "Let me think carefully."
    assert content == "42"
    assert chunks[-1].usage.completion_tokens_details.reasoning_tokens == 6
    assert responses_upstream.last().body["reasoning"] == {"effort": "high", "summary": "auto"}

    completion = client.chat.completions.create(model="codex/reasoning", messages=[{"role": "user", "content": "?"}])
    assert completion.choices[0].message.content == "42"
    assert completion.choices[0].message.model_extra["reasoning_content"] == "Let me think carefully."


def test_codex_items_sent_whole_without_deltas(codex, client):
    completion = client.chat.completions.create(model="codex/whole", messages=[{"role": "user", "content": "?"}])
    message = completion.choices[0].message
    assert message.content == "Whole answer"
    assert message.tool_calls[0].id == "call_whole"
    assert message.tool_calls[0].function.arguments == "{\"q\": 1}"


def test_codex_token_limit_ends_with_length(codex, client):
    chunks = list(client.chat.completions.create(
        model="codex/length", messages=[{"role": "user", "content": "hi"}], stream=True, max_tokens=3,
    ))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Partial"
    assert chunks[-1].choices[0].finish_reason == "length"
    completion = client.chat.completions.create(model="codex/length", messages=[{"role": "user", "content": "hi"}],
                                                max_completion_tokens=3)
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == "Partial"


def test_codex_models_are_the_configured_list(codex, client):
    ids = [m.id for m in client.models.list()]
    assert "codex/gpt-5-codex" in ids and "codex/text" in ids


def test_codex_client_disconnect_closes_the_upstream(codex, live_gateway, gateway_key, responses_upstream):
    with httpx.Client(base_url=live_gateway.url, timeout=10) as http:
        with http.stream("POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {gateway_key}"},
                         json={"model": "codex/stall", "stream": True, "messages": [{"role": "user", "content": "hi"}]}) as resp:
            assert resp.status_code == 200
            first = next(resp.iter_lines())
            assert first.startswith("data: ")
    for _ in range(200):
        if responses_upstream.disconnects:
            break
        time.sleep(0.025)
    assert responses_upstream.disconnects, "the upstream never saw the connection close"


def test_codex_request_shaping_applies_to_the_responses_body(make_provider, client, responses_upstream):
    make_provider(name="oai", provider_type="codex", base_url=responses_upstream.base_url, api_key=SECRET,
                  settings={"drop_params": ["temperature"], "extra_body": {"service_tier": "flex", "stream": False}})
    client.chat.completions.create(model="oai/text", messages=[{"role": "user", "content": "hi"}], temperature=0.2,
                                   top_p=0.5)
    seen = responses_upstream.last()
    assert "temperature" not in seen.body
    assert seen.body["top_p"] == 0.5
    assert seen.body["service_tier"] == "flex"
    assert seen.body["stream"] is True  # the backend only streams, whatever the settings say
    assert "chatgpt-account-id" not in seen.headers  # no account_id: a plain API key
