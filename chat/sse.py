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


class SSEDecoder:
    __slots__ = ("_buf", "_data", "_event", "_id")

    def __init__(self) -> None:
        self._buf = b""
        self._data: list[bytes] = []
        self._event: str | None = None
        self._id: str | None = None

    @property
    def pristine(self) -> bool:
        """Nothing pending: no partial line, no data lines or event name of an event
        not yet dispatched. A chunk then decodes on its own."""
        return not self._buf and not self._data and self._event is None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode ``chunk``; return the events it completed (possibly none)."""
        buf = self._buf + chunk if self._buf else chunk
        lines = buf.splitlines(keepends=True)
        if not lines:
            return []
        last = lines[-1]
        # An unterminated last line waits for more; so does a bare \r, which may be
        # the first half of a \r\n split across two reads.
        if last[-1:] not in (b"\n", b"\r") or last[-1:] == b"\r":
            self._buf = lines.pop()
        else:
            self._buf = b""
        events: list[ServerSentEvent] = []
        for raw in lines:
            self._line(raw.rstrip(b"\r\n"), events)
        return events

    def flush(self) -> list[ServerSentEvent]:
        """End of stream: a pending line ends, and a pending event is dispatched."""
        events: list[ServerSentEvent] = []
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
            self._event = None
            return
        if line[0] == 58:  # b":" comment / keep-alive
            return
        name, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id":
            self._id = value.decode("utf-8", "replace")
        # retry: and unknown fields are ignored, as the spec says.


def encode_data(payload: bytes) -> bytes:
    return b"data: " + payload + b"\n\n"
