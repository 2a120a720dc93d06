"""A small HTTP/1.1 client connection for upstream calls, on a raw asyncio protocol.

Why not aiohttp or httpx: the relay's cost is per chunk, and measured on this
machine (``manage.py bench``, docs/benchmark.md) a client library's read path
(a stream reader, a read timer cancelled and re-created for every piece of data,
per-request session machinery) cost more CPU than everything else the gateway
does per streamed request. This module does only what the gateway needs: one
request at a time per keep-alive connection, ``Content-Length``, chunked and
close-delimited bodies parsed by ``httptools`` (the C parser uvicorn uses),
gzip/deflate bodies, read flow control, and a read timeout that costs two clock
reads per chunk (one timer per request that re-arms itself, instead of one per
chunk).

Connecting (DNS, the base URL policy, proxies, TLS) and pooling live in
``providers.http``; this module is the wire.
"""
from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import httptools

# Above this much unread body, stop reading from the socket until the consumer catches up.
HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024
ERROR_BODY_LIMIT = 64 * 1024
# A released answer whose end is still on its way (the last chunk of a chunked body
# after the consumer saw all it needed) keeps its connection this long for it.
DRAIN_SECONDS = 1.0


class H1Error(Exception):
    """Base of this module's failures."""


class ConnectError(H1Error):
    """The connection could not be opened (``os_error`` says why)."""

    def __init__(self, message: str, os_error: BaseException | None = None) -> None:
        super().__init__(message)
        self.os_error = os_error


class ProxyError(ConnectError):
    """The HTTP proxy could not be reached or refused the tunnel."""


class TLSCertificateError(ConnectError):
    """The upstream's certificate did not verify."""


class TLSError(ConnectError):
    """The TLS handshake failed for another reason."""


class ConnectTimeout(H1Error, TimeoutError):
    pass


class ReadTimeout(H1Error, TimeoutError):
    pass


class Disconnected(H1Error, ConnectionError):
    """The upstream closed the connection before the answer was complete."""


class ProtocolError(H1Error):
    """The upstream's answer is not valid HTTP/1.1 (or its body encoding is broken)."""


class InvalidRequest(H1Error):
    """The request cannot be sent as asked (e.g. a header with a line break or a
    character outside Latin-1); nothing was sent."""


class Headers(Mapping[str, str]):
    """Response headers, looked up case-insensitively; repeated fields joined by ``, ``."""

    __slots__ = ("_index",)

    def __init__(self, items: list[tuple[str, str]]) -> None:
        index: dict[str, str] = {}
        for name, value in items:
            key = name.lower()
            index[key] = f"{index[key]}, {value}" if key in index else value
        self._index = index

    def __getitem__(self, name: str) -> str:
        return self._index[name.lower()]

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return self._index.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)



def encode_request(method: str, target: str, host: str, headers: Mapping[str, str], body: bytes | None) -> bytes:
    """The request head and body. Header names and values with CR, LF or NUL are refused."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    for name, value in headers.items():
        text = f"{name}{value}"
        if "\r" in text or "\n" in text or "\0" in text or ":" in name or not name:
            raise ValueError("invalid header")
        lines.append(f"{name}: {value}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    # UTF-8, as aiohttp and most clients send non-ASCII header values (servers see octets).
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    return head + body if body else head


class Connection(asyncio.Protocol):
    """One keep-alive connection; ``exchange()`` sends a request and returns its ``Response``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, key: Any = None) -> None:
        self.loop = loop
        self.key = key  # the pool it belongs to
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.response: Response | None = None
        self._parser: Any = None

    # asyncio protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        response = self.response
        if response is None or self._parser is None:
            # Bytes nobody asked for (after a complete answer): this connection is not reusable.
            self.close()
            return
        response._last = self.loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            response._fail(ProtocolError("unexpected protocol upgrade"))
            self.close()
        except httptools.HttpParserError as exc:
            response._fail(ProtocolError(f"invalid HTTP answer: {exc}"))
            self.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.closed = True
        response = self.response
        if response is not None:
            response._connection_lost(exc)

    # use ---------------------------------------------------------------------------

    def exchange(self, request: bytes, read_timeout: float | None) -> Response:
        assert self.transport is not None and self.response is None
        response = Response(self, read_timeout)
        self.response = response
        self._parser = httptools.HttpResponseParser(response)
        self.transport.write(request)
        return response

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def reusable(self) -> bool:
        return not self.closed and self.transport is not None and not self.transport.is_closing()


_HEAD, _BODY, _DONE = 0, 1, 2


class Response:
    """An answer being received. ``status``/``headers`` once ``wait_head()`` returned;
    then ``readany()`` (or ``iter_any()``) until ``b""``, or ``read()``. Finish with
    ``release()`` (back to the pool if complete) or ``close()`` (drop the connection)."""

    __slots__ = (
        "_conn", "_read_timeout", "_state", "_buf", "_buffered", "_waiter", "_error", "_last", "_timer",
        "_paused", "_keep_alive", "_decoder", "_delimited_by_close", "_on_release", "_draining",
        "status", "reason", "headers", "_raw_headers", "received_any",
    )

    def __init__(self, conn: Connection, read_timeout: float | None) -> None:
        self._conn: Connection | None = conn
        self._read_timeout = read_timeout
        self._state = _HEAD
        self._buf: list[bytes] = []
        self._buffered = 0
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._last = conn.loop.time()
        self._timer: asyncio.TimerHandle | None = None
        self._paused = False
        self._keep_alive = False
        self._decoder: Any = None
        self._delimited_by_close = False
        self._on_release: Any = None
        self._draining = False
        self.status = 0
        self.reason = ""
        self.headers = Headers([])
        self._raw_headers: list[tuple[str, str]] = []
        self.received_any = False
        if read_timeout:
            self._timer = conn.loop.call_at(self._last + read_timeout, self._check_timeout)

    # parser callbacks ------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.received_any = True

    def on_status(self, status: bytes) -> None:
        self.reason = status.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw_headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        parser = self._conn._parser  # type: ignore[union-attr]
        status = parser.get_status_code()
        if 100 <= status < 200:
            # An interim answer (100 Continue, 103 Early Hints): the real one follows.
            self._raw_headers = []
            return
        self.status = status
        self.headers = Headers(self._raw_headers)
        self._keep_alive = parser.should_keep_alive()
        index = self.headers._index
        self._delimited_by_close = "content-length" not in index and "chunked" not in index.get(
            "transfer-encoding", "").lower()
        encoding = index.get("content-encoding", "").strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            # 47: a zlib or gzip header, detected automatically; raw deflate is handled on error.
            self._decoder = zlib.decompressobj(47)
        self._state = _BODY
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self._draining:
            return
        if self._decoder is not None:
            try:
                body = self._decoder.decompress(body)
            except zlib.error as exc:
                self._fail(ProtocolError(f"invalid compressed body: {exc}"))
                self._conn.close()  # type: ignore[union-attr]
                return
            if not body:
                return
        self._buf.append(body)
        self._buffered += len(body)
        if self._buffered > HIGH_WATER and not self._paused:
            self._paused = True
            self._conn.transport.pause_reading()  # type: ignore[union-attr]
        self._wake()

    def on_message_complete(self) -> None:
        if self._state == _HEAD:
            return  # the end of an interim answer
        if self._decoder is not None:
            tail = self._decoder.flush()
            if tail:
                self._buf.append(tail)
        self._state = _DONE
        self._stop_timer()
        if self._draining:
            self._finish_release()
            return
        self._wake()

    # connection events -------------------------------------------------------------------

    def _connection_lost(self, exc: BaseException | None) -> None:
        if self._state == _DONE:
            return
        if self._state == _BODY and self._delimited_by_close and exc is None:
            self._keep_alive = False
            self.on_message_complete()
            return
        self._fail(Disconnected("the upstream closed the connection"))

    def _fail(self, error: BaseException) -> None:
        if self._state == _DONE or self._error is not None:
            return
        self._error = error
        self._keep_alive = False
        self._stop_timer()
        if self._draining:
            self._finish_release()
            return
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _check_timeout(self) -> None:
        self._timer = None
        if self._state == _DONE or self._error is not None or self._conn is None:
            return
        loop = self._conn.loop
        timeout = self._read_timeout or 0.0
        now = loop.time()
        if self._waiter is not None and now - self._last >= timeout:
            self._fail(ReadTimeout("no data from the upstream within the read timeout"))
            self._conn.abort()
            return
        # Data arrived since (or nobody waits for it): check again a timeout after the last data.
        due = self._last + timeout if self._waiter is not None else now + timeout
        self._timer = loop.call_at(max(due, now + 0.001), self._check_timeout)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def _wait(self) -> None:
        conn = self._conn
        if conn is None:
            raise H1Error("the response was released")
        waiter = conn.loop.create_future()
        self._waiter = waiter
        self._last = conn.loop.time()
        try:
            await waiter
        finally:
            self._waiter = None

    # API -----------------------------------------------------------------------------------

    async def wait_head(self) -> None:
        while self._state == _HEAD:
            if self._error is not None:
                raise self._error
            await self._wait()

    async def readany(self) -> bytes:
        """What has arrived of the body since the last call (waiting for some); ``b""`` at its end."""
        while not self._buf:
            if self._state == _DONE:
                return b""
            if self._error is not None:
                raise self._error
            await self._wait()
        buf = self._buf
        self._buf = []
        self._buffered = 0
        if self._paused:
            self._resume_reading()
        return buf[0] if len(buf) == 1 else b"".join(buf)

    async def iter_any(self) -> AsyncIterator[bytes]:
        while chunk := await self.readany():
            yield chunk

    async def read(self, limit: int | None = None) -> bytes:
        """The rest of the body (at most ``limit`` bytes when given)."""
        parts: list[bytes] = []
        size = 0
        while chunk := await self.readany():
            parts.append(chunk)
            size += len(chunk)
            if limit is not None and size >= limit:
                break
        body = b"".join(parts)
        return body if limit is None else body[:limit]

    def release(self) -> None:
        """Done with this answer: the connection goes back to its pool if the answer was
        read to its end and may be kept alive; otherwise it is closed. If only the end
        of the body is still missing, the connection waits a moment for it (and
        discards it) before going back to the pool."""
        conn = self._conn
        if conn is None or self._draining:
            return
        if self._state == _BODY and self._error is None and self._keep_alive and conn.reusable():
            self._draining = True
            self._buf = []
            self._buffered = 0
            self._resume_reading()
            self._stop_timer()
            self._timer = conn.loop.call_later(DRAIN_SECONDS, self._drain_timed_out)
            return
        self._finish_release()

    def _drain_timed_out(self) -> None:
        self._timer = None
        if self._conn is not None:
            self._conn.abort()
        self._finish_release()

    def _resume_reading(self) -> None:
        if self._paused:
            self._paused = False
            conn = self._conn
            if conn is not None and conn.transport is not None and not conn.closed:
                conn.transport.resume_reading()

    def _finish_release(self) -> None:
        conn = self._conn
        if conn is None:
            return
        self._resume_reading()
        self._conn = None
        self._stop_timer()
        conn.response = None
        conn._parser = None
        reusable = self._state == _DONE and self._keep_alive and self._error is None and conn.reusable()
        if not reusable:
            conn.close()
        if self._on_release is not None:
            self._on_release(conn, reusable)

    def close(self) -> None:
        """Drop the connection now (the upstream sees it close at once)."""
        if self._conn is not None:
            self._conn.abort()
        self._finish_release()
