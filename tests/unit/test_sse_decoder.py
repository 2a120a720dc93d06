"""The SSE decoder against awkward chunking: every split of a stream into reads
gives the same events (after openai-python's tests/test_streaming.py)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from providers.transport.sse import ServerSentEvent, SSEDecoder, encode_data


def decode(chunks: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.flush())
    return events


STREAM = (
    b": OPENROUTER PROCESSING\n\n"
    b'data: {"a": 1}\n\n'
    b"event: message\nid: 7\ndata:{\"b\": 2}\n\n"
    b"data: line one\ndata: line two\n\n"
    b"retry: 100\nunknown: x\ndata: [DONE]\n\n"
)
EXPECTED = [
    ServerSentEvent(b'{"a": 1}'),
    ServerSentEvent(b'{"b": 2}', "message", "7"),
    # The last event id persists across events, as the SSE rules say.
    ServerSentEvent(b"line one\nline two", None, "7"),
    ServerSentEvent(b"[DONE]", None, "7"),
]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_line_endings(newline):
    assert decode([STREAM.replace(b"\n", newline)]) == EXPECTED


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_one_byte_per_read(newline):
    data = STREAM.replace(b"\n", newline)
    assert decode([data[i:i + 1] for i in range(len(data))]) == EXPECTED


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(STREAM.replace(b"\n", b"\r\n"))), max_size=12),
       newline=st.sampled_from([b"\n", b"\r\n"]))
def test_any_split_gives_the_same_events(cuts, newline):
    data = STREAM.replace(b"\n", newline)
    points = sorted({min(c, len(data)) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    assert decode(chunks) == EXPECTED


def test_crlf_split_between_cr_and_lf_is_one_line_end():
    assert decode([b"data: x\r", b"\n\r", b"\n"]) == [ServerSentEvent(b"x")]


def test_comments_only_yield_nothing():
    assert decode([b": keep-alive\n\n: OPENROUTER PROCESSING\n\n"]) == []


def test_event_pending_at_eof_is_dispatched_by_flush():
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"x": 1}') == []
    assert decoder.flush() == [ServerSentEvent(b'{"x": 1}')]


def test_several_events_in_one_read():
    assert decode([b"data: 1\n\ndata: 2\n\ndata: 3\n\n"]) == [ServerSentEvent(b"1"), ServerSentEvent(b"2"), ServerSentEvent(b"3")]


def test_only_the_first_space_after_the_colon_is_removed():
    assert decode([b"data:  two spaces\n\n"]) == [ServerSentEvent(b" two spaces")]


def test_json_payload_and_encoding():
    (event,) = decode([b'data: {"k": [1, 2]}\n\n'])
    assert event.json() == {"k": [1, 2]}
    assert encode_data(b'{"k": 1}') == b'data: {"k": 1}\n\n'
