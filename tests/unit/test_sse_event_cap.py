"""The SSE decoder's bound: a line or event over ``max_event`` bytes is refused
(``EventTooLarge``), and a long line costs time linear in its bytes (pieces are
held, not re-scanned with everything before them on every read)."""
from __future__ import annotations

import time

import pytest

from providers.transport.sse import EventTooLarge, SSEDecoder


def test_a_line_without_end_is_refused_at_the_cap():
    decoder = SSEDecoder(max_event=1 << 20)
    decoder.feed(b"data: ")
    with pytest.raises(EventTooLarge):
        for _ in range(100):
            decoder.feed(b"a" * 65536)


def test_an_event_of_many_lines_is_refused_at_the_cap():
    decoder = SSEDecoder(max_event=1 << 20)
    with pytest.raises(EventTooLarge):
        for _ in range(100):
            decoder.feed(b"data: " + b"a" * 65536 + b"\n")


def test_a_long_line_under_the_cap_is_decoded_whole_in_linear_time():
    line = b"a" * (3 << 20)
    decoder = SSEDecoder(max_event=4 << 20)
    started = time.process_time()
    events = decoder.feed(b"data: ")
    for i in range(0, len(line), 1024):  # 3072 small reads
        events += decoder.feed(line[i:i + 1024])
    events += decoder.feed(b"\n\n")
    took = time.process_time() - started
    assert [e.data for e in events] == [line]
    assert took < 0.5, took  # the old decoder re-scanned the whole line per read: seconds


def test_split_line_ends_still_decode_after_held_pieces():
    decoder = SSEDecoder()
    events = []
    for piece in [b"data: ", b"ab", b"cd", b"\r", b"\n", b"\r\n", b"data: x\r", b"\r"]:
        events += decoder.feed(piece)
    events += decoder.flush()  # a last bare \r may be half of a \r\n: it waits for the end
    assert [e.data for e in events] == [b"abcd", b"x"]
