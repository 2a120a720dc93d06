"""A whole completion from a server that ignored ``stream: true`` becomes the
chunks a streaming server would have sent (the SDK assembles the same answer)."""
from __future__ import annotations

import json

from providers.adapters.openai_compat import completion_as_stream
from tests.fakes.openai_upstream import completion_for


def chunks(payload: dict, include_usage: bool = False) -> list[dict]:
    raw = completion_as_stream(json.dumps(payload).encode(), include_usage=include_usage)
    assert raw is not None
    frames = raw.decode().split("\n\n")
    assert frames[-1] == ""
    return [json.loads(f.removeprefix("data: ")) for f in frames[:-1]]


def test_tool_calls_get_their_index():
    out = chunks(completion_for("tools"))
    assert out[0]["choices"][0]["delta"] == {
        "role": "assistant",
        "tool_calls": [{"index": 0, "id": "call_abc", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"city\": \"Hanoi\"}"}}],
    }
    assert out[1]["choices"][0]["finish_reason"] == "tool_calls"


def test_reasoning_fields_are_kept():
    out = chunks(completion_for("reasoning"))
    assert out[0]["choices"][0]["delta"]["reasoning_content"] == "Let me think carefully."


def test_several_choices_keep_their_indexes():
    payload = completion_for("text")
    payload["choices"].append({**payload["choices"][0], "index": 1, "message": {"role": "assistant", "content": "B"}})
    out = chunks(payload)
    assert [c["choices"][0]["index"] for c in out] == [0, 0, 1, 1]


def test_usage_only_when_asked():
    assert all("usage" not in c for c in chunks(completion_for("text")))
    assert chunks(completion_for("text"), include_usage=True)[-1]["usage"]["total_tokens"] == 8


def test_non_completions_are_refused():
    for payload in (b"not json", b"[]", b'{"error": {"message": "x"}}', b'{"choices": "x"}'):
        assert completion_as_stream(payload, include_usage=False) is None
