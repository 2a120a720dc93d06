"""The translated wires' SSE frames: ``event: <name>`` and one ``data:`` line of
compact JSON (as the Messages and Responses APIs write them) that reads back as the
event, for any text a backend may send (quotes, backslashes, control characters,
line separators, any Unicode). A chunk that is not strict JSON ends the stream with
the wire's error event instead of breaking it."""
from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from chat.inbound import messages_stream, responses_stream
from chat.inbound.chunk_machine import dumps

texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=64)  # surrogates cannot reach a stream
indexes = st.integers(min_value=0, max_value=10_000)


def parsed(frames: bytes) -> list[tuple[str, object]]:
    out = []
    for frame in frames.split(b"\n\n")[:-1]:
        head, data = frame.split(b"\n")
        assert head.startswith(b"event: ") and data.startswith(b"data: ")
        value = json.loads(data[6:])
        assert data[6:] == json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()  # compact
        out.append((head[7:].decode(), value))
    return out


@given(texts, indexes, st.sampled_from(["text_delta", "thinking_delta", "input_json_delta"]))
def test_messages_frames_read_back_as_their_events(text: str, index: int, kind: str) -> None:
    field = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "partial_json"}[kind]
    event = ("content_block_delta", {"type": "content_block_delta", "index": index,
                                     "delta": {"type": kind, field: text}})
    frames = messages_stream.encode([event, ("message_stop", {"type": "message_stop"})])
    assert parsed(frames) == [event, ("message_stop", {"type": "message_stop"})]
    assert frames.count(b"\n\n") == 2  # every newline of the text is escaped


@given(texts, texts, indexes)
def test_responses_frames_read_back_as_their_events(delta: str, item_id: str, seq: int) -> None:
    event = {"type": "response.output_text.delta", "sequence_number": seq, "item_id": item_id,
             "output_index": 0, "delta": delta, "content_index": 0}
    frames = responses_stream.encode([event])
    assert parsed(frames) == [("response.output_text.delta", event)]


def test_events_are_compact_json_and_huge_integers_still_encode() -> None:
    assert dumps({"type": "ping"}) == b'{"type":"ping"}'
    # orjson stops at 64 bits; a client's request echoed in a Responses event may go beyond.
    assert json.loads(dumps({"max_output_tokens": 2**70})) == {"max_output_tokens": 2**70}
    assert json.loads(dumps({"instructions": "a\ud800b"})) == {"instructions": "a\ud800b"}  # a lone surrogate
    assert dumps({"t": "é\u2028"}) == '{"t":"é\u2028"}'.encode()


def _chunk(content: str) -> bytes:
    return b"data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": content}}]}).encode() + b"\n\n"


def test_a_chunk_that_is_not_strict_json_ends_the_stream_with_an_error_event() -> None:
    for bad in [b'data: {"choices": NaN}\n\n', b'data: {"choices":[{"delta":{"content":"\\ud800"}}]}\n\n',
                b"data: {not json\n\n"]:
        machine = messages_stream.MessagesStream("m")
        events = machine.feed(_chunk("hi")) + machine.feed(bad)
        assert machine.done
        assert events[-1][0] == "error"
        assert events[-1][1]["error"]["message"] == "The upstream sent a malformed stream event."
        messages_stream.encode(events)  # encodable as it stands

        responses = responses_stream.ResponsesStream({"model": "m", "input": "hi"}, "m")
        out = responses.feed(_chunk("hi")) + responses.feed(bad)
        assert responses.done and out[-1]["type"] == "response.failed"
        responses_stream.encode(out)


def test_a_real_stream_reads_back_whole() -> None:
    texts_sent = ["Hel", 'lo "quoted"', "\\ back", "\u2028 line sep", "\x00\x1f ctl", "你好"]
    frames = [_chunk(t) for t in texts_sent]
    frames += [b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n', b"data: [DONE]\n\n"]
    machine = messages_stream.MessagesStream("m")
    out = b"".join(messages_stream.encode(machine.feed(f)) for f in frames)
    assert machine.done
    deltas = [data["delta"]["text"] for name, data in parsed(out) if name == "content_block_delta"]  # type: ignore[index]
    assert "".join(deltas) == "".join(texts_sent)
