"""The part the inbound stream state machines share: decoding the adapter's chat
completion SSE frames and dispatching each chunk. Subclasses say what a chunk
choice, the end and a failure become in their wire's events. Pure: no I/O.

JSON both ways is orjson's: a translated stream decodes every chunk and encodes every
event, and the standard library's Python-level encoder was most of a translation's
cost (measured: docs/benchmark.md, "Issues 13 and 17"). Events are compact JSON, as
the Messages and Responses APIs themselves write them. Chunks that are not strict
JSON (``NaN``, a lone surrogate escape) are malformed events."""
from __future__ import annotations

import json
from typing import Any

import orjson

from providers.transport.sse import SSEDecoder

MALFORMED = "The upstream sent a malformed stream event."

# ASCII: whatever orjson refused must still become bytes (a lone surrogate cannot be UTF-8).
_fallback = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


def dumps(value: Any) -> bytes:
    """Compact JSON of an event. orjson refuses integers beyond 64 bits and lone
    surrogates, which a client's request may hold (echoed in a Responses event):
    those go through the standard library, which writes the same values."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return _fallback(value).encode()


class ChunkMachine:
    def __init__(self) -> None:
        self.decoder = SSEDecoder()
        self.done = False
        self.finish: str | None = None
        self.usage: dict[str, Any] | None = None

    def feed(self, data: bytes) -> list[Any]:
        # The usual read: one whole ``data: ...`` frame, as the adapters yield them,
        # with nothing pending in the decoder. Anything else goes through the decoder.
        if (data.startswith(b"data: ") and data.find(b"\n") == len(data) - 2 and data.endswith(b"\n\n")
                and b"\r" not in data and self.decoder.pristine):
            return [] if self.done else self._event(data[6:-2])
        out: list[Any] = []
        for event in self.decoder.feed(data):
            if self.done:
                break
            out.extend(self._event(event.data))
        return out

    def close(self) -> list[Any]:
        """The end of the adapter's stream (``[DONE]`` or not)."""
        out: list[Any] = []
        for event in self.decoder.flush():
            if not self.done:
                out.extend(self._event(event.data))
        if not self.done:
            out.extend(self._finish())
        return out

    def _event(self, data: bytes) -> list[Any]:
        try:
            if not data.startswith(b"{") and data.strip() == b"[DONE]":
                return self._finish()
            chunk = orjson.loads(data)
        except ValueError:  # orjson.JSONDecodeError
            return self._failed({"type": "server_error", "message": MALFORMED})
        if not isinstance(chunk, dict):
            return []
        if "error" in chunk:  # the gateway's relay turns a mid-stream failure into this
            error = chunk.get("error")
            return self._failed(error if isinstance(error, dict) else {"message": str(error)})
        out = self._start()
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            out.extend(self._choice(choice.get("delta") or {}))
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]
        return out

    # -- the wire's own events ---------------------------------------------------------

    def _start(self) -> list[Any]:
        raise NotImplementedError

    def _choice(self, delta: dict[str, Any]) -> list[Any]:
        raise NotImplementedError

    def _finish(self) -> list[Any]:
        raise NotImplementedError

    def _failed(self, error: dict[str, Any]) -> list[Any]:
        """The end of a failed stream; ``error`` is an OpenAI error object."""
        raise NotImplementedError
