"""Translation between chat completions and the Responses API, without a network."""
from __future__ import annotations

import pytest

from providers.adapters.base import UpstreamError
from providers.adapters.chat_chunks import ChunkCollector
from providers.adapters.responses_translate import ResponsesStream, to_responses_request


def test_request_translation_covers_messages_tools_and_options():
    body = {
        "model": "gpt-5",
        "messages": [
            {"role": "system", "content": "A"},
            {"role": "developer", "content": [{"type": "text", "text": "B"}]},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "out"}]},
        ],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}, "strict": True}},
                  {"type": "web_search"}],
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "max_tokens": 10,
        "temperature": 0.5,
        "stop": ["x"],  # the Responses API has no stop sequences
        "response_format": {"type": "json_schema", "json_schema": {"name": "S", "schema": {"type": "object"}, "strict": True}},
        "stream": False,
    }
    assert to_responses_request(body) == {
        "model": "gpt-5",
        "instructions": "A\n\nB",
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "out"},
        ],
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True}, {"type": "web_search"}],
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "max_output_tokens": 10,
        "temperature": 0.5,
        "text": {"format": {"type": "json_schema", "name": "S", "schema": {"type": "object"}, "strict": True}},
        "store": False,
        "stream": True,
    }


def _run(events, **kw):
    state = ResponsesStream("m", **kw)
    out = []
    for event in events:
        out.extend(state.feed(event))
    return state, out


def test_text_stream_starts_with_the_role_and_ends_with_usage():
    state, chunks = _run([
        {"type": "response.created", "response": {"created_at": 5, "model": "gpt-x"}},
        {"type": "response.output_item.added", "output_index": 0, "item": {"type": "message", "id": "m1"}},
        {"type": "response.output_text.delta", "item_id": "m1", "delta": "Hi"},
        {"type": "response.output_item.done", "output_index": 0,
         "item": {"type": "message", "id": "m1", "content": [{"type": "output_text", "text": "Hi"}]}},
        {"type": "response.completed", "response": {"usage": {"input_tokens": 2, "output_tokens": 1, "total_tokens": 3}}},
    ], include_usage=True)
    assert state.done
    assert [c["choices"][0]["delta"] if c["choices"] else c["usage"] for c in chunks] == [
        {"role": "assistant", "content": ""},
        {"content": "Hi"},
        {},
        {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3},
    ]
    assert chunks[2]["choices"][0]["finish_reason"] == "stop"
    assert {c["created"] for c in chunks} == {5}
    assert {c["model"] for c in chunks} == {"gpt-x"}


def test_parallel_tool_calls_get_their_own_indexes():
    _state, chunks = _run([
        {"type": "response.output_item.added", "output_index": 0, "item": {"type": "function_call", "id": "a", "call_id": "ca", "name": "f"}},
        {"type": "response.output_item.added", "output_index": 1, "item": {"type": "function_call", "id": "b", "call_id": "cb", "name": "g"}},
        {"type": "response.function_call_arguments.delta", "item_id": "b", "output_index": 1, "delta": "{\"y\":2}"},
        {"type": "response.function_call_arguments.delta", "item_id": "a", "output_index": 0, "delta": "{\"x\":1}"},
        {"type": "response.completed", "response": {}},
    ])
    collector = ChunkCollector()
    for chunk in chunks:
        collector.add(chunk)
    message = collector.completion()["choices"][0]["message"]
    assert [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in message["tool_calls"]] == [
        ("ca", "f", "{\"x\":1}"), ("cb", "g", "{\"y\":2}")
    ]
    assert chunks[0]["choices"][0]["delta"]["content"] is None
    assert collector.completion()["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    ("event", "status", "code"),
    [
        ({"type": "response.failed", "response": {"error": {"code": "server_error", "message": "boom"}}}, 502, "server_error"),
        ({"type": "response.failed", "response": {"error": {"code": "rate_limit_exceeded", "message": "slow"}}}, 429,
         "rate_limit_exceeded"),
        ({"type": "error", "code": "context_length_exceeded", "message": "too long", "param": "input"}, 400,
         "context_length_exceeded"),
        ({"type": "error", "error": {"type": "invalid_request_error", "message": "bad", "code": None}}, 400, None),
        ({"type": "response.incomplete", "response": {"incomplete_details": {"reason": "other"}}}, 502,
         "upstream_incomplete"),
    ],
)
def test_failure_events_raise_openai_shaped_errors(event, status, code):
    with pytest.raises(UpstreamError) as caught:
        _run([event])
    assert caught.value.status == status
    assert caught.value.code == code


def test_a_stream_without_completion_is_an_error():
    state, _chunks = _run([{"type": "response.output_text.delta", "delta": "x"}])
    with pytest.raises(UpstreamError) as caught:
        state.end_of_stream()
    assert caught.value.code == "upstream_incomplete_stream"


def test_incomplete_for_tokens_or_filter_is_a_finish_reason():
    _s, chunks = _run([{"type": "response.incomplete", "response": {"incomplete_details": {"reason": "max_output_tokens"}}}])
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    _s, chunks = _run([{"type": "response.incomplete", "response": {"incomplete_details": {"reason": "content_filter"}}}])
    assert chunks[-1]["choices"][0]["finish_reason"] == "content_filter"
