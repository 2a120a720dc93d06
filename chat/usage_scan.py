"""Tokens an answer reports using, read from its bytes without decoding them, for
the per-key token accounting of every /v1 surface (``chat.limits``; the request
log's aggregation is ``chat/usage.py``).

Each wire names its usage differently: chat completions, the Responses API and
embeddings report ``usage.total_tokens``; the Anthropic Messages API reports
``input_tokens`` and ``output_tokens`` (in a stream, ``message_start`` then a
cumulative ``message_delta``). Inside a JSON string every quote is escaped, so
these patterns only ever match real members, never text that mentions them.
"""
from __future__ import annotations

import re
from typing import Protocol

_TOTAL_TOKENS = re.compile(rb'"total_tokens"\s*:\s*(\d+)')
_INPUT_TOKENS = re.compile(rb'"input_tokens"\s*:\s*(\d+)')
_OUTPUT_TOKENS = re.compile(rb'"output_tokens"\s*:\s*(\d+)')

# Longest member a scan must see whole across two reads of a raw stream.
_CARRY = 64


class UsageScan(Protocol):
    """Fed an answer's bytes in order; ``tokens`` is what they reported (None: nothing)."""

    tokens: int | None

    def feed(self, data: bytes) -> None: ...


def usage_tokens(payload: bytes) -> int | None:
    """``usage.total_tokens`` reported in a chat answer or a whole stream frame, if any."""
    if b'"usage"' not in payload:
        return None
    found = _TOTAL_TOKENS.findall(payload)
    return int(found[-1]) if found else None


class FrameTotal:
    """Chat completions frames, each whole (the adapters yield complete SSE frames)."""

    __slots__ = ("tokens",)

    def __init__(self) -> None:
        self.tokens: int | None = None

    def feed(self, data: bytes) -> None:
        found = usage_tokens(data)
        if found:
            self.tokens = found


class RawScan:
    """A backend's own bytes, relayed as read: a member cut between two reads is
    found again with the tail of the previous read. The last value of each
    pattern wins (Anthropic's ``message_delta`` usage is cumulative); ``tokens``
    is their sum."""

    __slots__ = ("found", "patterns", "tail", "tokens")

    def __init__(self, *patterns: re.Pattern[bytes]) -> None:
        self.patterns = patterns
        self.found: list[int | None] = [None] * len(patterns)
        self.tail = b""
        self.tokens: int | None = None

    def feed(self, data: bytes) -> None:
        text = self.tail + data
        self.tail = text[-_CARRY:]
        for i, pattern in enumerate(self.patterns):
            hits = pattern.findall(text)
            if hits:
                self.found[i] = int(hits[-1])
        seen = [n for n in self.found if n is not None]
        self.tokens = sum(seen) if seen else None


def total_scan() -> RawScan:
    """Responses API and embeddings answers: ``usage.total_tokens``."""
    return RawScan(_TOTAL_TOKENS)


def messages_scan() -> RawScan:
    """Anthropic Messages answers: ``input_tokens`` plus ``output_tokens``."""
    return RawScan(_INPUT_TOKENS, _OUTPUT_TOKENS)


class Nothing:
    """Calls that generate nothing (``count_tokens``): zero, whatever they answer."""

    __slots__ = ("tokens",)

    def __init__(self) -> None:
        self.tokens: int | None = 0

    def feed(self, data: bytes) -> None:
        return None


def scanned(scan: UsageScan, payload: bytes) -> int | None:
    scan.feed(payload)
    return scan.tokens
