"""The official ``anthropic`` SDK against the live gateway's /v1/messages, answered
by a ``custom`` provider (the loopback OpenAI-compatible fake) through chat
completions: plain and streamed answers, a tool-use turn, thinking, errors."""
from __future__ import annotations

import anthropic
import pytest

HI = [{"role": "user", "content": "hi"}]
TOOLS = [{"name": "get_weather", "description": "Weather of a city",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]


@pytest.fixture
def local(make_provider, upstream):
    return make_provider(name="local", base_url=upstream.base_url)


@pytest.fixture
def client(live_gateway, gateway_key):
    with anthropic.Anthropic(base_url=live_gateway.url, api_key=gateway_key, max_retries=0, timeout=20) as sdk:
        yield sdk


def test_message_without_stream(client, local, upstream):
    message = client.messages.create(model="local/text", max_tokens=64, messages=HI, system="Be brief.",
                                      stop_sequences=["END"], metadata={"user_id": "u1"},
                                     extra_body={"temperature": 0.2})
    assert message.type == "message" and message.role == "assistant"
    assert [b.type for b in message.content] == ["text"] and message.content[0].text == "Hello from fake"
    assert message.stop_reason == "end_turn" and message.model == "local/text"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (5, 3)
    sent = upstream.last().body
    assert sent["model"] == "text" and sent["max_tokens"] == 64 and sent["stop"] == ["END"]
    assert sent["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    assert sent["temperature"] == 0.2 and sent["user"] == "u1"


def test_message_streamed_event_by_event(client, local):
    with client.messages.stream(model="local/text", max_tokens=64, messages=HI) as stream:
        events = [e.type for e in stream if e.type not in ("text",)]
        final = stream.get_final_message()
    assert events == ["message_start", "content_block_start", "content_block_delta", "content_block_delta",
                      "content_block_delta", "content_block_stop", "message_delta", "message_stop"]
    assert final.content[0].text == "Hello from fake" and final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 3


def test_tool_use_turn_streamed_and_not(client, local, upstream):
    message = client.messages.create(model="local/tools", max_tokens=64, messages=HI, tools=TOOLS,
                                     tool_choice={"type": "any"})
    assert message.stop_reason == "tool_use"
    (block,) = message.content
    assert (block.type, block.id, block.name, block.input) == ("tool_use", "call_abc", "get_weather", {"city": "Hanoi"})
    assert upstream.last().body["tool_choice"] == "required"
    assert upstream.last().body["tools"][0]["function"]["parameters"] == TOOLS[0]["input_schema"]
    with client.messages.stream(model="local/tools", max_tokens=64, messages=HI, tools=TOOLS) as stream:
        deltas = [e.delta.partial_json for e in stream if e.type == "content_block_delta"]
        final = stream.get_final_message()
    assert deltas == ['{"city": ', '"Hanoi"}']
    assert final.content[0].input == {"city": "Hanoi"} and final.stop_reason == "tool_use"
    # The tool's result goes back as a tool message answering the call.
    follow = [*HI, {"role": "assistant", "content": [b.model_dump() for b in final.content]},
              {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_abc", "content": "30C"}]}]
    answer = client.messages.create(model="local/text", max_tokens=64, messages=follow, tools=TOOLS)
    assert answer.content[0].text == "Hello from fake"
    assert upstream.last().body["messages"][1:] == [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_abc", "type": "function", "function": {
            "name": "get_weather", "arguments": '{"city": "Hanoi"}'}}]},
        {"role": "tool", "tool_call_id": "call_abc", "content": "30C"},
    ]


def test_reasoning_becomes_a_thinking_block(client, local):
    with client.messages.stream(model="local/reasoning", max_tokens=64, messages=HI,
                                thinking={"type": "enabled", "budget_tokens": 2048}) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == "Let me think carefully." and final.content[1].text == "42"


def test_errors_in_anthropic_shape(client, local, live_gateway):
    with pytest.raises(anthropic.NotFoundError) as info:
        client.messages.create(model="nowhere/text", max_tokens=8, messages=HI)
    assert info.value.body["type"] == "error" and info.value.body["error"]["type"] == "not_found_error"
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(model="local/text", max_tokens=0, messages=HI)
    assert info.value.body["error"]["type"] == "invalid_request_error"
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(model="local/status-429", max_tokens=8, messages=HI)
    bad = anthropic.Anthropic(base_url=live_gateway.url, api_key="gwk_wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as info:
        bad.messages.create(model="local/text", max_tokens=8, messages=HI)
    assert info.value.body["error"]["type"] == "authentication_error"


def test_bearer_token_works_like_x_api_key(live_gateway, gateway_key, local):
    with anthropic.Anthropic(base_url=live_gateway.url, auth_token=gateway_key, max_retries=0) as sdk:
        assert sdk.messages.create(model="local/text", max_tokens=8, messages=HI).content[0].text == "Hello from fake"


def test_mid_stream_failure_ends_with_an_error_event(client, local):
    with pytest.raises(anthropic.APIStatusError) as info:
        with client.messages.stream(model="local/error-event", max_tokens=8, messages=HI) as stream:
            for _event in stream:
                pass
    assert "model overloaded" in str(info.value)


def test_count_tokens_is_labelled_an_estimate(client, local):
    raw = client.messages.with_raw_response.count_tokens(model="local/text", messages=[{"role": "user", "content": "x" * 400}])
    assert raw.headers["x-gateway-token-count"] == "estimate"
    count = raw.parse()
    assert 100 <= count.input_tokens <= 120 and count.model_extra["estimated"] is True
