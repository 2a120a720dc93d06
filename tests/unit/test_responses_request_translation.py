"""A Responses request becomes the chat completions request a backend understands
(pure translation): instructions, items, developer role, structured output,
reasoning effort; stored state refused, never ignored."""
from __future__ import annotations

import pytest

from chat.inbound.responses_translate import ResponsesInputError, to_chat_request, to_response


def test_full_request():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    body = {
        "model": "m", "instructions": "Be brief.", "max_output_tokens": 64, "temperature": 0.3,
        "reasoning": {"effort": "high"}, "store": False, "parallel_tool_calls": False,
        "text": {"format": {"type": "json_schema", "name": "out", "schema": schema, "strict": True}},
        "tool_choice": {"type": "function", "name": "f"},
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Rules."}]},
            {"role": "user", "content": [{"type": "input_text", "text": "see"},
                                         {"type": "input_image", "image_url": "https://x/y.png"}]},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call", "call_id": "c2", "name": "g", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "one"},
            {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "two"}]},
        ],
    }
    chat = to_chat_request(body)
    assert chat["messages"][:2] == [{"role": "system", "content": "Be brief."}, {"role": "system", "content": "Rules."}]
    assert chat["messages"][2]["content"][1] == {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "auto"}}
    assert [c["id"] for c in chat["messages"][3]["tool_calls"]] == ["c1", "c2"]  # one assistant turn
    assert [m["role"] for m in chat["messages"][4:]] == ["tool", "tool"]
    assert chat["response_format"] == {"type": "json_schema", "json_schema": {"name": "out", "schema": schema, "strict": True}}
    assert (chat["max_tokens"], chat["temperature"], chat["reasoning_effort"], chat["parallel_tool_calls"]) == (64, 0.3, "high", False)
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "f"}}


@pytest.mark.parametrize("extra", [{"previous_response_id": "resp_1"}, {"store": True}])
def test_stored_state_is_refused(extra):
    with pytest.raises(ResponsesInputError) as info:
        to_chat_request({"model": "m", "input": "hi", **extra})
    assert info.value.code == "stored_state_unsupported"


def test_cut_short_answer_is_incomplete():
    response = to_response({"choices": [{"finish_reason": "length", "message": {"content": "Hel"}}],
                            "usage": {"prompt_tokens": 3, "completion_tokens": 1}}, {"input": "hi"}, "local/m")
    assert response["status"] == "incomplete" and response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response["output"][0]["content"][0]["text"] == "Hel" and response["usage"]["total_tokens"] == 4
