"""The ``openai`` SDK's ``responses.create`` against the live gateway's /v1/responses,
answered by a ``custom`` provider through chat completions: text streamed and
not, a function call and its output, reasoning, and the stored-state refusal."""
from __future__ import annotations

import openai
import pytest

from tests.contracts.http_api.helpers import sdk_client

TOOLS = [{"type": "function", "name": "get_weather", "description": "Weather of a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]


@pytest.fixture
def client(live_gateway, gateway_key):
    with sdk_client(live_gateway, gateway_key, timeout=20) as sdk:
        yield sdk


def test_text_without_stream(client, local, upstream):
    response = client.responses.create(model="local/text", input="hi", instructions="Be brief.",
                                       max_output_tokens=50, store=False)
    assert response.object == "response" and response.status == "completed"
    assert response.output_text == "Hello from fake"
    assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.total_tokens) == (5, 3, 8)
    sent = upstream.last().body
    assert sent["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    assert sent["max_tokens"] == 50 and sent["model"] == "text"


def test_text_streamed(client, local):
    events = list(client.responses.create(model="local/text", input="hi", stream=True))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert [e.delta for e in events if e.type == "response.output_text.delta"] == ["Hello", " from", " fake"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1].response
    assert final.output_text == "Hello from fake" and final.usage.total_tokens == 8


def test_function_call_round_trip(client, local, upstream):
    response = client.responses.create(model="local/tools", input="weather?", tools=TOOLS)
    (call,) = response.output
    assert (call.type, call.call_id, call.name, call.arguments) == (
        "function_call", "call_abc", "get_weather", '{"city": "Hanoi"}')
    with client.responses.stream(model="local/tools", input="weather?", tools=TOOLS) as stream:
        deltas = [e.delta for e in stream if e.type == "response.function_call_arguments.delta"]
        final = stream.get_final_response()
    assert deltas == ['{"city": ', '"Hanoi"}'] and final.output[0].arguments == '{"city": "Hanoi"}'
    follow = client.responses.create(model="local/text", tools=TOOLS, input=[
        {"role": "user", "content": "weather?"},
        {"type": "function_call", "call_id": "call_abc", "name": "get_weather", "arguments": '{"city": "Hanoi"}'},
        {"type": "function_call_output", "call_id": "call_abc", "output": "30C"},
    ])
    assert follow.output_text == "Hello from fake"
    assert upstream.last().body["messages"][1:] == [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_abc", "type": "function", "function": {
            "name": "get_weather", "arguments": '{"city": "Hanoi"}'}}]},
        {"role": "tool", "tool_call_id": "call_abc", "content": "30C"},
    ]


def test_hosted_tools_are_left_out_and_named_in_a_header(client, local, upstream):
    raw = client.responses.with_raw_response.create(model="local/text", input="hi",
                                                    tools=[*TOOLS, {"type": "web_search"}])
    assert raw.headers["x-gateway-dropped-tools"] == "web_search"
    assert [t["function"]["name"] for t in upstream.last().body["tools"]] == ["get_weather"]
    with pytest.raises(openai.BadRequestError) as info:
        client.responses.create(model="local/text", input="hi", tools=[{"type": "custom", "name": "apply_patch"}])
    assert info.value.param == "tools[0]"


def test_reasoning_becomes_a_reasoning_item(client, local):
    with client.responses.stream(model="local/reasoning", input="6*7?", reasoning={"effort": "low"}) as stream:
        final = stream.get_final_response()
    assert [item.type for item in final.output] == ["reasoning", "message"]
    assert final.output[0].summary[0].text == "Let me think carefully." and final.output_text == "42"


def test_stored_state_is_refused_with_400(client, local, upstream):
    for extra in ({"previous_response_id": "resp_123"}, {"store": True}):
        with pytest.raises(openai.BadRequestError) as info:
            client.responses.create(model="local/text", input="hi", **extra)
        assert info.value.code == "stored_state_unsupported"
        assert "does not store responses" in info.value.message
    assert upstream.requests == []


def test_mid_stream_failure_is_response_failed(client, local):
    events = list(client.responses.create(model="local/error-event", input="hi", stream=True))
    assert events[-1].type == "response.failed"
    assert events[-1].response.error.message == "model overloaded"
