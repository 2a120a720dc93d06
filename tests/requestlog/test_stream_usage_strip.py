"""What the hidden ``include_usage`` adds, as OpenAI sends it (compact JSON, a
``"usage":null`` member on every chunk, a final chunk with empty ``choices``), is
taken out exactly: the bytes left are those of the same stream without the option."""
from __future__ import annotations

import json

import pytest

from chat.requestlog import RequestRecord
from chat.stream_usage import MARK, UsageWatch


def frames(*, with_usage: bool, spaced: bool) -> list[bytes]:
    dumps = (lambda o: json.dumps(o)) if spaced else (lambda o: json.dumps(o, separators=(",", ":")))
    out = []
    for delta, finish in (({"role": "assistant", "content": ""}, None), ({"content": "Hi"}, None), ({}, "stop")):
        chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if with_usage:
            chunk["usage"] = None
        out.append(b"data: " + dumps(chunk).encode() + b"\n\n")
    if with_usage:
        usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18,
                 "completion_tokens_details": {"reasoning_tokens": 2}}
        out.append(b"data: " + dumps({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                                       "choices": [], "usage": usage}).encode() + b"\n\n")
    out.append(b"data: [DONE]\n\n")
    return out


def strip(stream: list[bytes], record: RequestRecord) -> bytes:
    watch = UsageWatch(record, hide=True)
    return b"".join(watch.feed(f) if MARK in f else f for f in stream)


@pytest.mark.parametrize("spaced", [False, True])
@pytest.mark.parametrize("packing", ["one-per-frame", "all-in-one", "pairs"])
def test_the_option_s_additions_are_removed_exactly(spaced, packing):
    asked = frames(with_usage=True, spaced=spaced)
    if packing == "all-in-one":
        asked = [b"".join(asked)]
    elif packing == "pairs":
        asked = [b"".join(asked[i:i + 2]) for i in range(0, len(asked), 2)]
    record = RequestRecord("chat")
    assert strip(asked, record) == b"".join(frames(with_usage=False, spaced=spaced))
    assert (record.tokens_in, record.tokens_out, record.tokens_reasoning) == (11, 7, 2)


def test_usage_on_a_chunk_with_choices_is_read_and_left_in_place():
    frame = b'data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":4}}\n\n'
    record = RequestRecord("chat")
    assert UsageWatch(record, hide=True).feed(frame) == frame
    assert (record.tokens_in, record.tokens_out) == (3, 4)


def test_the_word_usage_inside_content_is_not_a_member():
    frame = b'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"\\"usage\\": null"}}]}\n\n'
    record = RequestRecord("chat")
    assert UsageWatch(record, hide=True).feed(frame) == frame
    assert record.tokens_in is None
