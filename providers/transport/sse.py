"""Server-sent events: an incremental decoder that follows the SSE rules.

Fed raw byte chunks as they come off the socket, in any split: ``\\n``, ``\\r\\n``
and ``\\r`` line ends, ``data:`` with or without the space, multi-line data,
``event:``/``id:``/``retry:`` fields, and comment lines (``: keep-alive``), which
are dropped. Data stays as bytes so the relay can pass it on without decoding.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class ServerSentEvent:
    data: bytes
    event: str | None = None
    id: str | None = None

    def json(self) -> Any:
        return json.loads(self.data)


# One event (its lines together) may not grow past this by default; the adapters
# pass GATEWAY_UPSTREAM_MAX_EVENT_BYTES.
MAX_EVENT_BYTES = 4 * 1024 * 1024


class EventTooLarge(ValueError):
    """A line or event over the decoder's ``max_event`` bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"server-sent event over {limit} bytes")
        self.limit = limit


class SSEDecoder:
    """Buffering is linear in the bytes received: a chunk without a line end is
    only appended (never rescanned with what came before), and a line or event
    over ``max_event`` bytes raises ``EventTooLarge``."""

    __slots__ = ("_buf", "_data", "_event", "_held", "_id", "_parts", "_size", "max_event")

    def __init__(self, max_event: int = MAX_EVENT_BYTES) -> None:
        self._buf = b""
        self._parts: list[bytes] = []  # pieces of an unterminated line, in order
        self._held = 0  # their size
        self._data: list[bytes] = []
        self._size = 0  # bytes in _data
        self._event: str | None = None
        self._id: str | None = None
        self.max_event = max_event

    @property
    def pristine(self) -> bool:
        """Nothing pending: no partial line, no data lines or event name of an event
        not yet dispatched. A chunk then decodes on its own."""
        return not self._buf and not self._parts and not self._data and self._event is None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode ``chunk``; return the events it completed (possibly none)."""
        if (self._buf or self._parts) and b"\n" not in chunk and b"\r" not in chunk:
            # Still inside one long line: hold the piece, look at nothing else.
            self._parts.append(chunk)
            self._held += len(chunk)
            if self._held + len(self._buf) + self._size > self.max_event:
                raise EventTooLarge(self.max_event)
            return []
        if self._parts:
            buf = b"".join((self._buf, *self._parts, chunk))
            self._parts = []
            self._held = 0
        else:
            buf = self._buf + chunk if self._buf else chunk
        lines = buf.splitlines(keepends=True)
        if not lines:
            return []
        last = lines[-1]
        # An unterminated last line waits for more; so does a bare \r, which may be
        # the first half of a \r\n split across two reads.
        if last[-1:] not in (b"\n", b"\r") or last[-1:] == b"\r":
            self._buf = lines.pop()
            if len(self._buf) + self._size > self.max_event:
                raise EventTooLarge(self.max_event)
        else:
            self._buf = b""
        events: list[ServerSentEvent] = []
        for raw in lines:
            self._line(raw.rstrip(b"\r\n"), events)
        return events

    def flush(self) -> list[ServerSentEvent]:
        """End of stream: a pending line ends, and a pending event is dispatched."""
        events: list[ServerSentEvent] = []
        if self._parts:
            self._buf = b"".join((self._buf, *self._parts))
            self._parts = []
            self._held = 0
        if self._buf:
            self._line(self._buf.rstrip(b"\r\n"), events)
            self._buf = b""
        self._line(b"", events)
        return events

    def _line(self, line: bytes, events: list[ServerSentEvent]) -> None:
        if not line:
            if self._data:
                events.append(ServerSentEvent(b"\n".join(self._data), self._event, self._id))
            self._data = []
            self._size = 0
            self._event = None
            return
        if line[0] == 58:  # b":" comment / keep-alive
            return
        name, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value)
            self._size += len(value) + 1
            if self._size > self.max_event:
                raise EventTooLarge(self.max_event)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id":
            self._id = value.decode("utf-8", "replace")
        # retry: and unknown fields are ignored, as the spec says.


def encode_data(payload: bytes) -> bytes:
    return b"data: " + payload + b"\n\n"
