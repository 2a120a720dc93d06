"""The pure translation for the Claude Code CLI: the prompt it gets and the
chunks its JSON lines become."""
from __future__ import annotations

import pytest

from providers.adapters.claude_cli_translate import CliError, CliTranslator, render_prompt
from providers.adapters.content import TranslationError


def test_a_lone_user_message_is_the_prompt_as_is():
    assert render_prompt([{"role": "user", "content": "hi"}]) == (None, "hi")


def test_system_and_developer_messages_become_the_system_prompt():
    system, prompt = render_prompt([
        {"role": "system", "content": "A"}, {"role": "developer", "content": [{"type": "text", "text": "B"}]},
        {"role": "user", "content": [{"type": "text", "text": "x"}, {"type": "text", "text": "y"}]},
    ])
    assert system == "A\n\nB"
    assert prompt == "x\ny"


def test_earlier_turns_are_rendered_as_a_transcript_before_the_new_message():
    _system, prompt = render_prompt([
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Hue\"}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "28C"},
        {"role": "assistant", "content": "It is 28C."},
        {"role": "user", "content": "thanks"},
    ])
    assert prompt == (
        "This conversation continues from earlier turns, shown here as a transcript:\n\n<transcript>\n"
        "User: weather?\n\n"
        "Assistant called the tool get_weather (call c1) with arguments: {\"city\": \"Hue\"}\n\n"
        "Tool result (call c1): 28C\n\n"
        "Assistant: It is 28C.\n</transcript>\n\n"
        "The user's new message:\n\nthanks"
    )


def test_a_conversation_ending_with_the_assistant_asks_to_continue():
    _system, prompt = render_prompt([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}])
    assert prompt.endswith("Continue from the last turn.")


@pytest.mark.parametrize(("messages", "param"), [
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}], "messages[0].content[0]"),
    ([{"role": "system", "content": "only"}], "messages"),
    ([{"role": "wizard", "content": "x"}], "messages[0]"),
    (["nope"], "messages[0]"),
])
def test_unsupported_input_names_the_param(messages, param):
    with pytest.raises(TranslationError) as info:
        render_prompt(messages)
    assert info.value.param == param


def _event(evt, **extra):
    return {"type": "stream_event", "event": evt, "parent_tool_use_id": None, **extra}


def _deltas(chunks):
    return [c["choices"][0]["delta"] if c["choices"] else ("usage", c["usage"]) for c in chunks]


def test_partial_events_stream_live_and_the_result_ends_with_usage():
    t = CliTranslator("sonnet", include_usage=True, created=1)
    lines = [
        {"type": "system", "subtype": "init", "session_id": "s"},
        _event({"type": "message_start", "message": {"id": "m1", "usage": {"input_tokens": 2}}}),
        _event({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
        _event({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}}),
        _event({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        _event({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hi"}}),
        {"type": "assistant", "message": {"id": "m1", "content": [{"type": "text", "text": "Hi"}]}},  # already streamed
        _event({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "t", "name": "Bash"}}),
        _event({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{}"}}),
        _event({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}}),
        _event({"type": "message_stop"}),
        {"type": "result", "subtype": "success", "is_error": False, "stop_reason": "end_turn",
         "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 1}},
    ]
    chunks = [c for line in lines for c in t.feed(line)]
    assert t.done and t.session_id == "s"
    assert _deltas(chunks) == [
        {"role": "assistant", "content": "", "reasoning_content": "hm"},
        {"content": "Hi"},
        {},
        ("usage", {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16, "prompt_tokens_details": {"cached_tokens": 1}}),
    ]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


def test_whole_assistant_messages_are_used_without_partial_events():
    t = CliTranslator("sonnet", include_usage=False, created=1)
    chunks = t.feed({"type": "assistant", "message": {"id": "m", "content": [
        {"type": "thinking", "thinking": "hm"}, {"type": "text", "text": "Hello"}]}})
    chunks += t.feed({"type": "result", "is_error": False, "stop_reason": "max_tokens"})
    assert _deltas(chunks) == [{"role": "assistant", "content": "", "reasoning_content": "hm"}, {"content": "Hello"}, {}]
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_synthetic_error_messages_and_sub_agent_lines_are_not_content():
    t = CliTranslator("sonnet", include_usage=False, created=1)
    assert t.feed({"type": "assistant", "error": "unknown", "message": {
        "id": "x", "model": "<synthetic>", "content": [{"type": "text", "text": "API Error: 400"}]}}) == []
    assert t.feed(_event({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "inner"}},
                         parent_tool_use_id="toolu_1")) == []


@pytest.mark.parametrize(("line", "message", "status"), [
    ({"type": "result", "is_error": True, "api_error_status": 401, "result": "API Error: 401 bad key"}, "API Error: 401 bad key", 401),
    ({"type": "result", "is_error": True, "subtype": "error_during_execution", "errors": ["a", "b"]}, "a; b", None),
    ({"type": "result", "is_error": True, "subtype": "error_max_turns"}, None, None),
])
def test_failed_results_raise(line, message, status):
    t = CliTranslator("sonnet", include_usage=False, created=1)
    with pytest.raises(CliError) as info:
        t.feed(line)
    assert info.value.upstream_status == status
    if message:
        assert info.value.message == message
    else:
        assert "error_max_turns" in info.value.message
