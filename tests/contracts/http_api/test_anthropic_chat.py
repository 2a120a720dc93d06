"""An ``anthropic`` provider answers OpenAI clients in OpenAI shapes: text, tools,
reasoning and usage, streaming and not, through the official SDK."""
from __future__ import annotations

import json

import pytest

from tests.contracts.http_api.helpers import sdk_client


@pytest.fixture
def claude(make_provider, anthropic_upstream):
    make_provider(name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url,
                  api_key="sk-ant-upstream-secret-9876")
    return anthropic_upstream


@pytest.fixture
def client(live_gateway, gateway_key):
    with sdk_client(live_gateway, gateway_key, timeout=20) as c:
        yield c


def test_anthropic_completion_text_and_usage(claude, client):
    answer = client.chat.completions.create(model="claude/text", messages=[{"role": "user", "content": "hi"}])
    assert answer.object == "chat.completion"
    assert answer.choices[0].message.role == "assistant"
    assert answer.choices[0].message.content == "Hello from fake"
    assert answer.choices[0].finish_reason == "stop"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.usage.total_tokens) == (12, 6, 18)
    seen = claude.message_requests()[-1]
    assert seen.headers["x-api-key"] == "sk-ant-upstream-secret-9876"
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in seen.headers
    assert seen.body == {"model": "text", "max_tokens": 4096, "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}


def test_anthropic_stream_text_with_usage_chunk(claude, client):
    chunks = list(client.chat.completions.create(
        model="claude/text", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "hi"}],
    ))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from fake"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens, chunks[-1].usage.total_tokens) == (12, 6, 18)
    assert claude.message_requests()[-1].body["stream"] is True


def test_anthropic_stream_without_include_usage_has_no_usage_chunk(claude, client):
    chunks = list(client.chat.completions.create(model="claude/text", stream=True, messages=[{"role": "user", "content": "hi"}]))
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)


def test_anthropic_tool_call_non_streaming(claude, client):
    answer = client.chat.completions.create(
        model="claude/tools", messages=[{"role": "user", "content": "weather in Hanoi?"}],
        tools=[{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
                                                 "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        tool_choice="required",
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    call = choice.message.tool_calls[0]
    assert (call.id, call.type, call.function.name) == ("toolu_fake01", "function", "get_weather")
    assert json.loads(call.function.arguments) == {"city": "Hanoi"}
    sent = claude.message_requests()[-1].body
    assert sent["tools"] == [{"name": "get_weather", "description": "Weather of a city",
                              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    assert sent["tool_choice"] == {"type": "any"}


def test_anthropic_tool_call_streams_index_id_name_and_argument_fragments(claude, client):
    chunks = list(client.chat.completions.create(
        model="claude/tools", stream=True, messages=[{"role": "user", "content": "weather?"}],
        tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
    ))
    calls = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
    assert calls[0].index == 0 and calls[0].id == "toolu_fake01" and calls[0].function.name == "get_weather"
    assert [tc.function.arguments for tc in calls[1:]] == ['{"city": ', '"Hanoi"}']
    assert all(tc.index == 0 for tc in calls)
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_anthropic_tool_round_trip_is_sent_as_tool_use_and_tool_result(claude, client):
    answer = client.chat.completions.create(model="claude/text", messages=[
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": "Use metric units."},
        {"role": "user", "content": "weather in Hanoi and Hue?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Hanoi\"}"}},
            {"id": "toolu_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Hue\"}"}},
        ]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "31C"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "28C"},
    ], max_completion_tokens=100, stop=["END"], temperature=0.5, top_p=0.9)
    assert answer.choices[0].message.content == "Hello from fake"
    sent = claude.message_requests()[-1].body
    assert sent["system"] == "Be brief.\n\nUse metric units."
    assert sent["max_tokens"] == 100
    assert sent["stop_sequences"] == ["END"]
    assert (sent["temperature"], sent["top_p"]) == (0.5, 0.9)
    assert sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "weather in Hanoi and Hue?"}]},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Hanoi"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Hue"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "31C"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "28C"},
        ]},
    ]


def test_anthropic_images_become_image_blocks(claude, client):
    client.chat.completions.create(model="claude/text", messages=[{"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
    ]}])
    content = claude.message_requests()[-1].body["messages"][0]["content"]
    assert content[1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    assert content[2] == {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}


def test_anthropic_thinking_becomes_reasoning_content(claude, client):
    answer = client.chat.completions.create(model="claude/thinking", messages=[{"role": "user", "content": "6*7?"}])
    message = answer.choices[0].message
    assert message.content == "42"
    assert message.model_extra["reasoning_content"] == "Let me think carefully."
    chunks = list(client.chat.completions.create(model="claude/thinking", stream=True,
                                                 messages=[{"role": "user", "content": "6*7?"}]))
    reasoning = "".join(c.choices[0].delta.model_extra.get("reasoning_content") or "" for c in chunks)
    assert reasoning == "Let me think carefully."
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "42"


@pytest.mark.parametrize(("model", "finish"), [("max-tokens", "length"), ("stop-seq", "stop")])
def test_anthropic_stop_reasons_map_to_finish_reasons(claude, client, model, finish):
    answer = client.chat.completions.create(model=f"claude/{model}", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].finish_reason == finish
    chunks = list(client.chat.completions.create(model=f"claude/{model}", stream=True,
                                                 messages=[{"role": "user", "content": "hi"}]))
    assert chunks[-1].choices[0].finish_reason == finish


def test_anthropic_default_max_tokens_comes_from_settings(make_provider, anthropic_upstream, client):
    make_provider(name="claude2", provider_type="anthropic", base_url=anthropic_upstream.base_url, api_key="k-1234",
                  settings={"default_max_tokens": 123, "anthropic_version": "2024-01-01"})
    client.chat.completions.create(model="claude2/text", messages=[{"role": "user", "content": "hi"}])
    seen = anthropic_upstream.message_requests()[-1]
    assert seen.body["max_tokens"] == 123
    assert seen.headers["anthropic-version"] == "2024-01-01"
