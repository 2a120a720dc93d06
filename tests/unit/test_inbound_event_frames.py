"""The translated wires write their delta events without the JSON encoder (the most
frequent events of a stream); the bytes must be exactly what the encoder writes, for
any text a backend may send (quotes, backslashes, control characters, any Unicode)."""
from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from chat.inbound import messages_stream, responses_stream

_generic = json.JSONEncoder(ensure_ascii=False).encode

texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=64)  # surrogates cannot reach a stream
indexes = st.integers(min_value=0, max_value=10_000)


def messages_generic(events: list[messages_stream.Event]) -> bytes:
    return "".join(f"event: {name}\ndata: {_generic(data)}\n\n" for name, data in events).encode()


def responses_generic(events: list[responses_stream.Event]) -> bytes:
    return "".join(f"event: {e['type']}\ndata: {_generic(e)}\n\n" for e in events).encode()


@given(texts, indexes, st.sampled_from(sorted(messages_stream._DELTA_FIELDS)))
def test_messages_delta_frames_are_the_encoders(text: str, index: int, kind: str) -> None:
    field = messages_stream._DELTA_FIELDS[kind]
    event = ("content_block_delta", {"type": "content_block_delta", "index": index,
                                     "delta": {"type": kind, field: text}})
    assert messages_stream.encode([event]) == messages_generic([event])
    assert json.loads(messages_stream.encode([event]).split(b"data: ", 1)[1]) == event[1]


@given(texts, texts, indexes, indexes, st.sampled_from(sorted(responses_stream._DELTAS)))
def test_responses_delta_frames_are_the_encoders(delta: str, item_id: str, seq: int, output_index: int,
                                                 kind: str) -> None:
    event: dict[str, object] = {"type": kind, "sequence_number": seq, "item_id": item_id,
                                "output_index": output_index, "delta": delta}
    extra = responses_stream._DELTAS[kind]
    if extra:
        event[extra] = 0
    assert responses_stream.encode([event]) == responses_generic([event])


def test_other_shapes_go_through_the_encoder() -> None:
    # A delta with another member, or another event, is written by the encoder as before.
    odd = ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                   "delta": {"type": "text_delta", "text": "a", "extra": True}})
    stop = ("message_stop", {"type": "message_stop"})
    assert messages_stream.encode([odd, stop]) == messages_generic([odd, stop])
    done = {"type": "response.output_text.done", "sequence_number": 3, "item_id": "msg_1", "output_index": 0,
            "content_index": 0, "text": "hi"}
    assert responses_stream.encode([done]) == responses_generic([done])


def test_a_real_stream_is_written_as_the_encoder_would() -> None:
    chunks = [{"choices": [{"index": 0, "delta": {"content": t}, "finish_reason": None}]}
              for t in ["Hel", 'lo "quoted"', "\\ back", "\u2028 line sep", "\x00\x1f ctl", "你好"]]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    frames = [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks] + [b"data: [DONE]\n\n"]
    for machine, encode, generic in [
        (messages_stream.MessagesStream("m"), messages_stream.encode, messages_generic),
        (responses_stream.ResponsesStream({"model": "m", "input": "hi"}, "m"), responses_stream.encode,
         responses_generic),
    ]:
        for frame in frames:
            events = machine.feed(frame)
            assert encode(events) == generic(events)
        assert machine.done
