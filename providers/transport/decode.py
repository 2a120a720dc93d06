"""Decoding a compressed answer body, bounded.

The gateway decodes ``Content-Encoding`` itself (the session runs with
``auto_decompress=False``) so that: the decoded size is capped while decoding
(``max_length``: a small body that inflates to gigabytes is refused after the
cap, never held); ``deflate`` is accepted both zlib-wrapped (RFC 9110) and raw
(what some servers send); a multi-member gzip body is decoded whole; and a
corrupt or truncated body is an error, never a short or empty answer.
"""
from __future__ import annotations

import zlib

from .errors import ProtocolError

# Decoded bytes produced per step: what one compressed chunk may turn into at once.
STEP = 256 * 1024


class Decoder:
    """Incremental decoder for one ``Content-Encoding`` (``gzip``, ``x-gzip``, ``deflate``)."""

    __slots__ = ("_done", "_held", "_inflate", "_more", "_tail", "encoding")

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._inflate: zlib._Decompress | None = None
        self._tail = b""  # input not yet turned into output (decoding is stepped)
        self._held = b""  # the first byte of a deflate body: its kind shows in two
        self._more = False  # the last step stopped at its limit: output may be waiting inside zlib
        self._done = False

    @property
    def pending(self) -> bool:
        """Input is waiting to be decoded (call ``decode(b"")`` for more)."""
        return bool(self._tail) or self._more

    def _new(self, first: bytes) -> zlib._Decompress:
        if self.encoding == "deflate":
            # zlib-wrapped deflate starts with a CMF byte of method 8 and a checksum
            # over the first two bytes; anything else is raw deflate.
            wrapped = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
            return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        return zlib.decompressobj(16 + zlib.MAX_WBITS)

    def decode(self, data: bytes, max_out: int = STEP) -> bytes:
        """Decode more input; at most ``max_out`` bytes come back (the rest stays
        ``pending``). Raises ``ProtocolError`` for a corrupt body."""
        data = self._tail + data if self._tail else data
        self._tail = b""
        if self._held:
            data, self._held = self._held + data, b""
        more, self._more = self._more, False
        if not data and not (more and self._inflate is not None):
            return b""
        if self._inflate is None and len(data) < 2 and self.encoding == "deflate" and not self._done:
            self._held = data
            return b""
        try:
            if self._inflate is None:
                if self._done:
                    if self.encoding == "deflate" or not data.strip(b"\0"):
                        return b""  # padding after the end is tolerated
                    self._done = False
                self._inflate = self._new(data)
            out = self._inflate.decompress(data, max_out)
            if self._inflate.eof:
                rest = self._inflate.unused_data
                self._inflate = None
                self._done = True
                if rest:  # the next gzip member
                    self._tail = rest
            else:
                self._tail = self._inflate.unconsumed_tail
                self._more = len(out) >= max_out
        except zlib.error as exc:
            raise ProtocolError(f"corrupt {self.encoding} body: {exc}") from None
        return out

    def finish(self) -> None:
        """End of the body: a body that stopped mid-stream is corrupt."""
        if self._tail or self._held or self._inflate is not None:
            raise ProtocolError(f"truncated {self.encoding} body")


def decoder_for(content_encoding: str | None) -> Decoder | None:
    """The decoder for a ``Content-Encoding`` value; None for identity. Raises
    ``ProtocolError`` for an encoding the gateway did not ask for."""
    if not content_encoding:
        return None
    value = content_encoding.strip().lower()
    if value in ("", "identity"):
        return None
    if value in ("gzip", "x-gzip", "deflate"):
        return Decoder("gzip" if value == "x-gzip" else value)
    raise ProtocolError(f"unsupported content encoding {value!r}")
