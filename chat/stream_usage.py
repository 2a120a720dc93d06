"""Token usage read from a chat completions stream, and the hidden usage request.

When a client streams without ``stream_options.include_usage`` and the provider
accepts that option, the gateway asks for it anyway (so the request log knows the
tokens) and takes out of the client's stream exactly what the option adds, as
OpenAI documents it: the final chunk whose ``choices`` is empty and which carries
``usage``, and the ``"usage":null`` member of every other chunk. A backend that puts ``usage``
on a chunk that also has choices keeps it there (the client sees a member it did
not ask for, which OpenAI's clients ignore). Everything else goes through byte for
byte.

Only frames that contain ``"usage"`` are looked at (a substring test in C on the
hot path); usage values are parsed, whole chunks never are.
"""
from __future__ import annotations

import json
import re
from typing import Any

from .requestlog import RequestRecord

MARK = b'"usage"'
_NULL_MEMBER = re.compile(rb'\s*,\s*"usage"\s*:\s*null(?=\s*[,}])|"usage"\s*:\s*null\s*,\s*')
_EMPTY_CHOICES = re.compile(rb'"choices"\s*:\s*\[\s*\]')
_decoder = json.JSONDecoder()


def supports_usage_option(config: Any) -> bool:
    """Whether a provider takes ``stream_options`` (the capability probe writes
    ``drop_params: ["stream_options"]`` for a backend that refuses it)."""
    return "stream_options" not in (config.setting("drop_params") or ())


def ask_for_usage(body: dict[str, Any]) -> bool:
    """Add ``stream_options.include_usage`` to an upstream body that lacks it; True if added."""
    options = body.get("stream_options")
    if options is None:
        body["stream_options"] = {"include_usage": True}
        return True
    if isinstance(options, dict) and not options.get("include_usage"):
        body["stream_options"] = {**options, "include_usage": True}
        return True
    return False


def _value_at(data: bytes, start: int) -> tuple[Any, int] | None:
    """The JSON value after the colon that follows ``"usage"`` at ``start``, and its end."""
    colon = data.find(b":", start + len(MARK))
    if colon == -1:
        return None
    end_of_line = data.find(b"\n", colon)
    text = data[colon + 1: end_of_line if end_of_line != -1 else len(data)]
    stripped = text.lstrip()
    try:
        decoded = stripped.decode("ascii")
        value, used = _decoder.raw_decode(decoded)
    except (UnicodeDecodeError, ValueError):
        return None
    return value, colon + 1 + (len(text) - len(stripped)) + used


class UsageWatch:
    """Feeds a request record the usage a stream reports; with ``hide``, removes
    what the hidden ``include_usage`` added."""

    __slots__ = ("hide", "record")

    def __init__(self, record: RequestRecord, hide: bool) -> None:
        self.record = record
        self.hide = hide

    def feed(self, frame: bytes) -> bytes:
        """Call only for frames that contain ``MARK``."""
        if self.hide:
            return self._hide(frame)
        pos = frame.find(MARK)
        while pos != -1:
            found = _value_at(frame, pos)
            if found is not None and isinstance(found[0], dict):
                self.record.note_usage(found[0])
            pos = frame.find(MARK, pos + len(MARK))
        return frame

    def _hide(self, frame: bytes) -> bytes:
        if b'"usage":null' in frame or b'"usage": null' in frame:
            frame = _NULL_MEMBER.sub(b"", frame)
            if MARK not in frame:
                return frame
        events = frame.split(b"\n\n")
        kept = []
        for event in events:
            if MARK in event:
                hidden = self._hide_event(event)
                if hidden is None:
                    continue
                event = hidden
            kept.append(event)
        if not kept or (len(kept) == 1 and not kept[0]):
            return b""
        return b"\n\n".join(kept)

    def _hide_event(self, event: bytes) -> bytes | None:
        pos = event.find(MARK)
        found = _value_at(event, pos)
        if found is None:
            return event
        value = found[0]
        if isinstance(value, dict):
            self.record.note_usage(value)
        if _EMPTY_CHOICES.search(event):
            return None  # the usage-only chunk the option added
        # Usage on a chunk that also carries choices (or nested in a vendor's member,
        # as Groq's ``x_groq``) stays: cutting bytes out of it could change more than
        # the option added.
        return event
