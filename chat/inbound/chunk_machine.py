"""The part the inbound stream state machines share: decoding the adapter's chat
completion SSE frames and dispatching each chunk. Subclasses say what a chunk
choice, the end and a failure become in their wire's events. Pure: no I/O."""
from __future__ import annotations

import json
from typing import Any

from providers.transport.sse import SSEDecoder

MALFORMED = "The upstream sent a malformed stream event."

_decoder = json.JSONDecoder()  # one decoder for every chunk (json.loads also sniffs the encoding)
_decode = _decoder.decode
_scan = _decoder.scan_once  # type: ignore[attr-defined]  # set by JSONDecoder.__init__ (the C scanner)


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
            if data.startswith(b"{"):  # a chunk: the C scanner at once (``decode`` wraps it in two calls)
                text = data.decode()
                chunk, end = _scan(text, 0)
                if end != len(text) and not text[end:].isspace():
                    raise ValueError("extra data")
            elif data.strip() == b"[DONE]":
                return self._finish()
            else:
                chunk = _decode(data.decode())
        except (ValueError, StopIteration):  # UnicodeDecodeError included; StopIteration: the scanner's "no value"
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
