"""The chat-chunks-to-Responses state machine emits the event sequence of the
Responses API for the same answer (the fake Responses upstream's script), for
text, a function call and reasoning, in any byte split; errors end in ``response.failed``."""
from __future__ import annotations

import json

import pytest

from chat.inbound.responses_stream import ResponsesStream
from tests.fakes.openai_upstream import script_for as chat_script
from tests.fakes.responses_upstream import script_for as native_script

# The real API closes parts and summaries with these; the fake upstream leaves them out.
CLOSERS = {"response.content_part.done", "response.reasoning_summary_text.done",
           "response.reasoning_summary_part.done"}


def chat_bytes(model: str) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chat_script(model, True)) + b"data: [DONE]\n\n"


def events(data: bytes, split: int) -> list[dict]:
    state = ResponsesStream({"input": "hi"}, "local/m")
    out = []
    for i in range(0, len(data), split):
        out.extend(state.feed(data[i:i + split]))
    return out + state.close()


@pytest.mark.parametrize("split", [1, 9, 10_000])
@pytest.mark.parametrize("model", ["text", "tools", "reasoning"])
def test_event_names_match_the_native_stream(model, split):
    ours = events(chat_bytes(model), split)
    names = [e["type"] for e in ours if e["type"] not in CLOSERS]
    native = ["response.created", "response.in_progress", *(e["type"] for e in native_script(model)),
              "response.completed"]
    assert names == native
    assert [e["sequence_number"] for e in ours] == list(range(len(ours)))


def test_completed_response_holds_the_output_and_usage():
    final = events(chat_bytes("tools"), 50)[-1]["response"]
    assert final["status"] == "completed"
    (call,) = final["output"]
    assert (call["call_id"], call["name"], call["arguments"]) == ("call_abc", "get_weather", '{"city": "Hanoi"}')
    assert final["usage"]["total_tokens"] == 8


def test_error_frame_becomes_response_failed():
    out = events(b'data: {"error": {"message": "boom", "type": "server_error", "code": "overloaded"}}\n\n', 100)
    assert [e["type"] for e in out] == ["response.created", "response.in_progress", "response.failed"]
    assert out[-1]["response"]["error"] == {"code": "overloaded", "message": "boom"}
