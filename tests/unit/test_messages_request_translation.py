"""A Messages request becomes the chat completions request a backend understands
(pure translation, no network): system blocks, images, tool results (errors
marked), tool choice, thinking budget, and clear refusals."""
from __future__ import annotations

import pytest

from chat.inbound.messages_translate import MessagesInputError, to_chat_request, to_message


def test_full_request():
    body = {
        "model": "m", "max_tokens": 100, "stream": True, "top_k": 5,
        "system": [{"type": "text", "text": "One.", "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": "Two."}],
        "thinking": {"type": "enabled", "budget_tokens": 10000},
        "tool_choice": {"type": "tool", "name": "f", "disable_parallel_tool_use": True},
        "tools": [{"name": "f", "input_schema": {"type": "object"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "look"},
                                         {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "s"},
                                              {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "is_error": True,
                                          "content": [{"type": "text", "text": "boom"}]},
                                         {"type": "text", "text": "and?"}]},
        ],
    }
    assert to_chat_request(body) == {
        "model": "m", "max_tokens": 100, "stream": True, "stream_options": {"include_usage": True}, "top_k": 5,
        "reasoning_effort": "medium",
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}}, "parallel_tool_calls": False,
        "messages": [
            {"role": "system", "content": "One.\nTwo."},
            {"role": "user", "content": [{"type": "text", "text": "look"},
                                         {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]},
            {"role": "tool", "tool_call_id": "t1", "content": "Error: boom"},
            {"role": "user", "content": "and?"},
        ],
    }


@pytest.mark.parametrize(("body", "param"), [
    ({"messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
    ({"max_tokens": 5, "messages": []}, "messages"),
    ({"max_tokens": 5, "messages": [{"role": "robot", "content": "x"}]}, "messages.0.role"),
    ({"max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "document"}]}]}, "messages.0.content.0"),
    ({"max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
      "tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools.0"),
])
def test_refusals_name_the_field(body, param):
    with pytest.raises(MessagesInputError) as info:
        to_chat_request({"model": "m", **body})
    assert info.value.param == param


def test_answer_with_reasoning_text_and_a_tool_call():
    message = to_message({"choices": [{"finish_reason": "length", "message": {
        "content": "hi", "reasoning_content": "why", "tool_calls": [
            {"id": "c1", "function": {"name": "f", "arguments": "not json"}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": 4}}}, "alias")
    assert [b["type"] for b in message["content"]] == ["thinking", "text", "tool_use"]
    assert message["content"][2]["input"] == {"_arguments": "not json"}
    assert message["stop_reason"] == "max_tokens" and message["model"] == "alias"
    assert message["usage"] == {"input_tokens": 6, "output_tokens": 2, "cache_creation_input_tokens": 0,
                                "cache_read_input_tokens": 4}
