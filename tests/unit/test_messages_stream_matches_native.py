"""The chat-chunks-to-Messages state machine emits the event sequence the
Messages API itself emits for the same answer (the fake Anthropic upstream's
``stream_events``), for text, a tool call and reasoning, in any byte split."""
from __future__ import annotations

import json

import pytest

from chat.inbound.messages_stream import MessagesStream
from tests.fakes.anthropic_upstream import stream_events
from tests.fakes.openai_upstream import script_for


def chat_bytes(model: str) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in script_for(model, True)) + b"data: [DONE]\n\n"


def events(data: bytes, split: int) -> list[tuple[str, dict]]:
    state = MessagesStream("m")
    out = []
    for i in range(0, len(data), split):
        out.extend(state.feed(data[i:i + split]))
    return out + state.close()


@pytest.mark.parametrize("split", [1, 7, 10_000])
@pytest.mark.parametrize(("openai_model", "anthropic_model"), [("text", "text"), ("tools", "tools"),
                                                               ("reasoning", "thinking")])
def test_event_names_match_the_native_stream(openai_model, anthropic_model, split):
    ours = [name for name, _data in events(chat_bytes(openai_model), split)]
    # The native stream also carries a thinking block's signature, which chat backends have not.
    native = [name for name, data in stream_events(anthropic_model, {})
              if (data.get("delta") or {}).get("type") != "signature_delta"]
    assert ours.index("ping") == 2  # right after the first content_block_start, as the API sends it
    assert [n for n in ours if n != "ping"] == [n for n in native if n != "ping"]


def test_tool_use_block_and_stop_reason():
    out = events(chat_bytes("tools"), 5)
    start = next(d for n, d in out if n == "content_block_start")
    assert start["content_block"] == {"type": "tool_use", "id": "call_abc", "name": "get_weather", "input": {}}
    partial = "".join(d["delta"]["partial_json"] for n, d in out if n == "content_block_delta")
    assert json.loads(partial) == {"city": "Hanoi"}
    delta = next(d for n, d in out if n == "message_delta")
    assert delta["delta"]["stop_reason"] == "tool_use" and delta["usage"]["output_tokens"] == 3


def test_error_frame_becomes_an_error_event_after_message_start():
    data = b'data: {"error": {"message": "boom", "type": "upstream_error"}}\n\n'
    out = events(data, 100)
    assert [n for n, _d in out] == ["message_start", "error"]
    assert out[-1][1] == {"type": "error", "error": {"type": "api_error", "message": "boom"}}
