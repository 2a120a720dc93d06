"""The pure OpenAI <-> Anthropic Messages translation, without a network."""
from __future__ import annotations

import pytest

from providers.adapters.anthropic_translate import (
    StreamError,
    StreamTranslator,
    TranslationError,
    finish_reason,
    to_completion,
    to_messages_request,
    usage_from,
)
from tests.fakes.anthropic_upstream import stream_events, validate


def _req(messages, **extra):
    return to_messages_request({"model": "m", "messages": messages, **extra}, default_max_tokens=999, stream=False)


def test_system_and_developer_messages_go_to_system():
    out = _req([{"role": "system", "content": "A"}, {"role": "user", "content": "hi"},
                {"role": "developer", "content": [{"type": "text", "text": "B"}]}])
    assert out["system"] == "A\n\nB"
    assert out["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


@pytest.mark.parametrize(("extra", "expected"), [
    ({}, 999), ({"max_tokens": 50}, 50), ({"max_completion_tokens": 70, "max_tokens": 50}, 70),
])
def test_max_tokens_default_and_client_values(extra, expected):
    assert _req([{"role": "user", "content": "hi"}], **extra)["max_tokens"] == expected


def test_stop_temperature_top_p_user():
    out = _req([{"role": "user", "content": "hi"}], stop="X", temperature=1.7, top_p=0.5, user="u-1")
    assert out["stop_sequences"] == ["X"]
    assert out["temperature"] == 1.0  # Anthropic's range ends at 1
    assert out["top_p"] == 0.5
    assert out["metadata"] == {"user_id": "u-1"}


@pytest.mark.parametrize(("choice", "parallel", "expected"), [
    ("auto", None, {"type": "auto"}),
    ("none", None, {"type": "none"}),
    ("required", None, {"type": "any"}),
    ({"type": "function", "function": {"name": "f"}}, None, {"type": "tool", "name": "f"}),
    ("auto", False, {"type": "auto", "disable_parallel_tool_use": True}),
    (None, None, None),
])
def test_tool_choice(choice, parallel, expected):
    extra = {"tools": [{"type": "function", "function": {"name": "f"}}]}
    if choice is not None:
        extra["tool_choice"] = choice
    if parallel is not None:
        extra["parallel_tool_calls"] = parallel
    out = _req([{"role": "user", "content": "hi"}], **extra)
    assert out.get("tool_choice") == expected
    assert out["tools"] == [{"name": "f", "input_schema": {"type": "object", "properties": {}}}]


def test_tool_results_merge_into_one_user_turn_with_following_text():
    out = _req([
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "let me check", "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}},
            {"id": "t2", "type": "function", "function": {"name": "f", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "r1"},
        {"role": "tool", "tool_call_id": "t2", "content": [{"type": "text", "text": "r2"}]},
        {"role": "user", "content": "and?"},
    ])
    assert out["messages"][1] == {"role": "assistant", "content": [
        {"type": "text", "text": "let me check"},
        {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}},
        {"type": "tool_use", "id": "t2", "name": "f", "input": {}}]}
    assert out["messages"][2] == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": "r1"},
        {"type": "tool_result", "tool_use_id": "t2", "content": "r2"},
        {"type": "text", "text": "and?"}]}
    assert validate(out) is None  # what the real API would accept


@pytest.mark.parametrize(("messages", "param"), [
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png,notbase64"}}]}],
     "messages[0].content[0]"),
    ([{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}], "messages[0].content[0]"),
    ([{"role": "assistant", "tool_calls": [{"id": "x", "function": {"name": "f", "arguments": "[1]"}}]}],
     "messages[0].tool_calls[0].function.arguments"),
    ([{"role": "tool", "content": "x"}], "messages[0]"),
    ([{"role": "wizard", "content": "x"}], "messages[0]"),
    ([{"role": "system", "content": "only a system prompt"}], "messages"),
])
def test_untranslatable_requests_name_the_param(messages, param):
    with pytest.raises(TranslationError) as info:
        _req(messages)
    assert info.value.param == param


def test_completion_from_message_with_thinking_text_and_tool_use():
    out = to_completion({
        "id": "msg_1", "model": "claude-x", "stop_reason": "tool_use",
        "content": [{"type": "thinking", "thinking": "hmm", "signature": "s"}, {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "tu", "name": "f", "input": {"a": "é"}}],
        "usage": {"input_tokens": 3, "output_tokens": 4, "cache_read_input_tokens": 10, "cache_creation_input_tokens": 2},
    }, created=5)
    assert out == {
        "id": "msg_1", "object": "chat.completion", "created": 5, "model": "claude-x",
        "choices": [{"index": 0, "logprobs": None, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "Checking.", "refusal": None, "reasoning_content": "hmm",
            "tool_calls": [{"id": "tu", "type": "function", "function": {"name": "f", "arguments": '{"a": "é"}'}}]}}],
        "usage": {"prompt_tokens": 15, "completion_tokens": 4, "total_tokens": 19, "prompt_tokens_details": {"cached_tokens": 10}},
    }


@pytest.mark.parametrize(("stop", "finish"), [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
    ("refusal", "content_filter"), (None, None),
])
def test_finish_reasons(stop, finish):
    assert finish_reason(stop) == finish


def test_usage_without_cache():
    assert usage_from({"input_tokens": 1, "output_tokens": 2}) == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}


def _run(model, include_usage=True):
    t = StreamTranslator("m", include_usage=include_usage, created=1)
    chunks = []
    for _name, data in stream_events(model, {"messages": [{"role": "user", "content": "hi"}]}):
        chunks.extend(t.feed(data))
        if t.done:
            chunks.extend(t.final_chunks())
    return t, chunks


def test_stream_text_chunks():
    t, chunks = _run("text")
    assert t.done
    assert [c["choices"][0]["delta"] if c["choices"] else c["usage"] for c in chunks] == [
        {"role": "assistant", "content": ""}, {"content": "Hello"}, {"content": " from"}, {"content": " fake"}, {},
        {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18}]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert {c["id"] for c in chunks} == {"msg_fake01"}


def test_stream_tool_call_chunks():
    _t, chunks = _run("tools", include_usage=False)
    assert [c["choices"][0]["delta"] for c in chunks] == [
        {"role": "assistant", "content": None, "tool_calls": [
            {"index": 0, "id": "toolu_fake01", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"Hanoi"}'}}]},
        {}]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_stream_thinking_becomes_reasoning_content():
    _t, chunks = _run("thinking", include_usage=False)
    assert [c["choices"][0]["delta"] for c in chunks] == [
        {"role": "assistant", "content": "", "reasoning_content": "Let me think"},
        {"reasoning_content": " carefully."}, {"content": "42"}, {}]


def test_stream_error_event_raises():
    t = StreamTranslator("m", include_usage=False, created=1)
    with pytest.raises(StreamError) as info:
        t.feed({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    assert (info.value.etype, info.value.message) == ("overloaded_error", "Overloaded")


def test_stream_second_tool_call_gets_the_next_index_and_usage_adds_up_over_turns():
    t = StreamTranslator("m", include_usage=True, created=1)
    events = [
        {"type": "message_start", "message": {"id": "a", "usage": {"input_tokens": 5, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "t1", "name": "f", "input": {}}},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "t2", "name": "g", "input": {}}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{}"}},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 7}},
        {"type": "message_stop"},
    ]
    chunks = [c for e in events for c in t.feed(e)] + t.final_chunks()
    calls = [tc for c in chunks if c["choices"] for tc in c["choices"][0]["delta"].get("tool_calls") or ()]
    assert [(tc["index"], tc.get("id")) for tc in calls] == [(0, "t1"), (1, "t2"), (1, None)]
    assert chunks[-1]["usage"] == {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
