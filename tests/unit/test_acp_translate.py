"""Translation between chat completions and the Agent Client Protocol, without a process."""
from __future__ import annotations

import pytest

from providers.adapters import acp_translate as tr


def test_single_user_turn_is_sent_as_is():
    assert tr.render_prompt([{"role": "user", "content": "hi"}]) == [{"type": "text", "text": "hi"}]


def test_history_tool_calls_and_results_are_rendered_as_a_transcript():
    blocks = tr.render_prompt([
        {"role": "developer", "content": "Rules."},
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "user", "content": "Thanks"},
    ])
    assert blocks == [
        {"type": "text", "text": "<system>\nRules.\n</system>"},
        {"type": "text", "text": "<conversation>\nUser: Weather?\n\nAssistant: [tool call c1: w({})]\n\n"
                                 "Tool result (c1): sunny\n</conversation>"},
        {"type": "text", "text": "Thanks"},
    ]


def test_images_become_image_blocks_only_when_the_agent_takes_them():
    content = [{"type": "text", "text": "What is this?"},
               {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]
    assert tr.render_prompt([{"role": "user", "content": content}], images=True) == [
        {"type": "text", "text": "What is this?"}, {"type": "image", "mimeType": "image/png", "data": "AAAA"}]
    assert tr.render_prompt([{"role": "user", "content": content}], images=False)[1] == {
        "type": "text", "text": "[image: inline]"}


@pytest.mark.parametrize(("update", "delta"), [
    ({"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": "a"}}, {"content": "a"}),
    ({"sessionUpdate": "agent_thought_chunk", "content": {"type": "text", "text": "b"}}, {"reasoning_content": "b"}),
    ({"sessionUpdate": "agent_message_chunk", "content": {"type": "image", "data": "x", "mimeType": "image/png"}}, None),
    ({"sessionUpdate": "tool_call", "toolCallId": "t", "title": "x"}, None),
    ({"sessionUpdate": "usage_update", "used": 1, "size": 2}, None),
    ({"sessionUpdate": "user_message_chunk", "content": {"type": "text", "text": "c"}}, None),
])
def test_updates_become_deltas(update, delta):
    assert tr.update_delta(update) == delta


@pytest.mark.parametrize(("stop", "finish"), [("end_turn", "stop"), ("max_tokens", "length"),
                                              ("max_turn_requests", "length"), ("refusal", "content_filter"),
                                              ("cancelled", "stop"), (None, "stop")])
def test_stop_reasons(stop, finish):
    assert tr.finish_reason(stop) == finish


def test_permission_policy_picks_an_option_of_the_right_kind():
    params = {"options": [{"optionId": "a", "kind": "allow_always"}, {"optionId": "r", "kind": "reject_always"},
                          {"optionId": "o", "kind": "allow_once"}]}
    assert tr.permission_outcome(params, "deny") == {"outcome": {"outcome": "selected", "optionId": "r"}}
    assert tr.permission_outcome(params, "allow") == {"outcome": {"outcome": "selected", "optionId": "o"}}
    only_allow = {"options": [{"optionId": "a", "kind": "allow_once"}]}
    assert tr.permission_outcome(only_allow, "deny") == {"outcome": {"outcome": "cancelled"}}
    assert tr.permission_outcome({}, "allow") == {"outcome": {"outcome": "cancelled"}}


def test_model_switch_uses_config_options_or_set_model():
    session = {"sessionId": "s", "configOptions": [
        {"id": "mode", "category": "mode", "currentValue": "default", "options": [{"value": "plan"}]},
        {"id": "model", "category": "model", "currentValue": "default",
         "options": [{"value": "default"}, {"value": "haiku"}]},
    ]}
    assert tr.model_selection(session, "haiku") == (
        "session/set_config_option", {"sessionId": "s", "configId": "model", "value": "haiku"})
    assert tr.model_selection(session, "default") is None
    assert tr.model_selection(session, "unknown") is None
    legacy = {"sessionId": "s", "models": {"currentModelId": "a", "availableModels": [{"modelId": "a"}, {"modelId": "b"}]}}
    assert tr.model_selection(legacy, "b") == ("session/set_model", {"sessionId": "s", "modelId": "b"})
    assert tr.model_selection({"sessionId": "s"}, "b") is None


def test_usage_from_the_prompt_result():
    assert tr.to_chat_usage({"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}) == {
        "prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    assert tr.to_chat_usage(None) is None
