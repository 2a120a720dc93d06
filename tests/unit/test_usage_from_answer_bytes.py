"""Usage read from an answer's bytes (chat/usage.py) whatever the wire and however
a native stream's reads cut it; text that merely mentions a member never counts."""
from __future__ import annotations

import pytest

from chat import usage_scan as usage
from tests.fakes.anthropic_upstream import frame, stream_events

ANTHROPIC_STREAM = b"".join(frame(name, data) for name, data in stream_events("text", {}))
RESPONSES_DONE = (b'event: response.completed\ndata: {"type":"response.completed","response":{"usage":'
                  b'{"input_tokens":5,"output_tokens":3,"total_tokens":8}}}\n\n')


@pytest.mark.parametrize("size", [1, 2, 7, 64, 10_000])
def test_anthropic_stream_counts_input_plus_cumulative_output_across_any_split(size):
    scan = usage.messages_scan()
    for i in range(0, len(ANTHROPIC_STREAM), size):
        scan.feed(ANTHROPIC_STREAM[i:i + size])
    assert scan.tokens == 12 + 6  # message_start's input_tokens, message_delta's (cumulative) output_tokens


@pytest.mark.parametrize("size", [1, 3, 50, 10_000])
def test_responses_stream_counts_total_tokens_across_any_split(size):
    scan = usage.total_scan()
    for i in range(0, len(RESPONSES_DONE), size):
        scan.feed(RESPONSES_DONE[i:i + size])
    assert scan.tokens == 8


def test_text_mentioning_usage_is_not_usage():
    scan = usage.messages_scan()
    scan.feed(b'{"type":"text_delta","text":"\\"input_tokens\\": 999"}')
    assert scan.tokens is None
    assert usage.scanned(usage.Nothing(), b'{"input_tokens": 40}') == 0
