"""A misbehaving OpenAI-compatible upstream, written on raw asyncio sockets so it
can fail in ways a web framework would not let it: reset connections, stall,
send garbage, cut a chunked body short.

The requested ``model`` picks the fault:

- ``ok``: a proper stream (or JSON answer) of ``OK_PIECES``, then ``[DONE]``;
- ``reset``: reads the request, then resets the connection (RST via SO_LINGER 0);
- ``stall-headers``: reads the request and never answers;
- ``stall-mid``: sends headers and one event, then never sends more;
- ``garbage``: HTTP 200 ``text/event-stream`` whose event data is not JSON;
- ``not-sse``: HTTP 200 ``text/event-stream`` whose lines are not SSE at all;
- ``empty``: HTTP 200 ``text/event-stream`` with an empty body;
- ``truncated``: one event, then half a JSON event, then a clean end of body;
- ``no-done``: two events, then closes without ``[DONE]`` or the chunked terminator;
- ``eof-no-done``: events and a proper end of body, but no ``[DONE]``;
- ``status-429`` (with ``Retry-After: 3``), ``status-500``, ``status-502``, ``status-503``:
  that status with an OpenAI error body;
- ``echo-auth``: HTTP 401 whose message quotes the request's credentials;
  ``echo-auth-mid``: the same as an error event after one chunk of a stream;
- ``echo-request``: HTTP 400 whose message quotes the whole request line (query
  string included) and every header; ``echo-request-mid``: the same mid-stream;
- ``flaky-N``: HTTP 503 to the first N requests with this model, then ``ok``;
- ``bulk-C-H``: a stream of C events whose content names the request (its first
  message's content) and the event's index; after the first event it waits until
  H bulk streams are open at once (a barrier proving they are concurrent).

``GET /v1/models`` answers an empty list (with a ``next`` link quoting the request's
path and query when the query has an ``echo`` parameter). ``GET /stats`` answers ``{"open": ..., "peak_bulk": ...}``. Run as a script
(``python -m tests.fakes.faulty_upstream PORT``) it serves in its own process.

Every response carries ``Connection: close``, so once a request is over no socket
may stay open: ``open_connections`` counts the sockets still open, ``accepted``
all those ever accepted.
"""
from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
from collections import Counter
from typing import Any

from tests.fakes.loopback import ServerThread

OK_PIECES = ["Hel", "lo", " from", " the", " faulty", " fake"]


def chunk_event(content: str | None, finish: str | None = None) -> bytes:
    delta = {} if content is None else {"content": content}
    obj = {
        "id": "chatcmpl-faulty",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "ok",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def bulk_event(tag: str, index: int) -> bytes:
    """Event ``index`` of bulk stream ``tag``, exactly as the upstream sends it."""
    obj = {
        "id": f"chatcmpl-{tag}",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "bulk",
        "choices": [{"index": 0, "delta": {"content": f"{tag}:{index:03d} "}, "finish_reason": None}],
    }
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def completion() -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-faulty",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "ok",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(OK_PIECES)}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 6, "total_tokens": 9},
        }
    ).encode()


def _chunked(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + b"\r\n"


class FaultyUpstream:
    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.open_connections = 0
        self.accepted = 0
        self.requests: Counter[str] = Counter()
        self._serving: ServerThread | None = None
        self._lock = threading.Lock()
        self.bulk_open = 0
        self.peak_bulk = 0
        self._barriers: dict[int, asyncio.Event] = {}

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    # -- one connection ------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.open_connections += 1
            self.accepted += 1
        try:
            request = await self._read_request(reader)
            if request is not None:
                await self._answer(request, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            try:
                writer.close()
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass
            with self._lock:
                self.open_connections -= 1

    async def _read_request(self, reader: asyncio.StreamReader) -> dict[str, Any] | None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _version = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        body = await reader.readexactly(length) if length else b""
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            payload = {}
        return {"method": method, "path": path, "headers": headers, "body": payload}

    async def _answer(self, request: dict[str, Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = request["body"]
        model = str(body.get("model", "ok"))
        stream = bool(body.get("stream"))
        with self._lock:
            self.requests[model] += 1
            seen = self.requests[model]
        if request["path"] == "/stats":
            stats = {"open": self.open_connections, "peak_bulk": self.peak_bulk}
            await self._send(writer, 200, "application/json", json.dumps(stats).encode())
            return
        if model.startswith("bulk-"):
            await self._bulk(model, body, writer)
            return
        if request["path"].startswith("/v1/models"):
            listing: dict[str, Any] = {"object": "list", "data": []}
            if "echo=" in request["path"]:
                listing["next"] = request["path"]  # a careless pagination link that quotes the query
            await self._send(writer, 200, "application/json", json.dumps(listing).encode())
            return
        if model.startswith("flaky-"):
            failures = int(model.split("-", 1)[1])
            model = "status-503" if seen <= failures else "ok"
        if model.startswith(("echo-auth", "echo-request")):
            # A careless upstream that quotes the credentials it rejected, or the whole request.
            if model.startswith("echo-auth"):
                status, code = 401, "invalid_api_key"
                echoed = f"Incorrect API key provided: {request['headers'].get('authorization', '')} " \
                         f"(x-api-key: {request['headers'].get('x-api-key', '')})"
            else:
                status, code = 400, "bad_request"
                echoed = f"Cannot serve {request['method']} {request['path']} with headers " + \
                         ", ".join(f"{k}: {v}" for k, v in request["headers"].items())
            error = json.dumps({"error": {"message": echoed, "type": "invalid_request_error", "param": None,
                                          "code": code}}).encode()
            if model.endswith("-mid") and stream:
                await self._start_stream(writer)
                await self._write(writer, _chunked(chunk_event(OK_PIECES[0])) + _chunked(b"data: " + error + b"\n\n"))
                await self._write(writer, b"0\r\n\r\n")
            else:
                await self._send(writer, status, "application/json", error)
            return
        if model == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        if model == "stall-headers":
            await reader.read()  # until the gateway gives up and closes
            return
        if model.startswith("status-"):
            status = int(model.split("-", 1)[1])
            error = {"error": {"message": f"faulty says {status}", "type": "fake_error", "param": None, "code": f"fake_{status}"}}
            extra = {"Retry-After": "3"} if status == 429 else {}
            await self._send(writer, status, "application/json", json.dumps(error).encode(), extra)
            return
        if not stream:
            if model == "garbage":
                await self._send(writer, 200, "text/html", b"<html>this is not JSON</html>")
            else:
                await self._send(writer, 200, "application/json", completion())
            return
        await self._start_stream(writer)
        if model == "stall-mid":
            await self._write(writer, _chunked(chunk_event(OK_PIECES[0])))
            await reader.read()
            return
        if model == "garbage":
            await self._write(writer, _chunked(b"data: <html>this is not JSON</html>\n\n"))
            await self._write(writer, b"0\r\n\r\n")
            return
        if model == "empty":
            await self._write(writer, b"0\r\n\r\n")
            return
        if model == "not-sse":
            await self._write(writer, _chunked(b"this is not SSE at all\n\n{nor: this}\n\n"))
            await self._write(writer, b"0\r\n\r\n")
            return
        if model == "truncated":
            await self._write(writer, _chunked(chunk_event(OK_PIECES[0])))
            await self._write(writer, _chunked(chunk_event(OK_PIECES[1])[:30]))
            await self._write(writer, b"0\r\n\r\n")
            return
        if model == "no-done":
            await self._write(writer, _chunked(chunk_event(OK_PIECES[0]) + chunk_event(OK_PIECES[1])))
            return  # the connection closes without the chunked terminator
        for piece in OK_PIECES:
            await self._write(writer, _chunked(chunk_event(piece)))
        await self._write(writer, _chunked(chunk_event(None, "stop")))
        if model != "eof-no-done":
            await self._write(writer, _chunked(b"data: [DONE]\n\n"))
        await self._write(writer, b"0\r\n\r\n")

    async def _bulk(self, model: str, body: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        _, count, hold = model.split("-")
        tag = str((body.get("messages") or [{}])[0].get("content", ""))
        barrier = self._barriers.setdefault(int(hold), asyncio.Event())
        await self._start_stream(writer)
        self.bulk_open += 1
        self.peak_bulk = max(self.peak_bulk, self.bulk_open)
        try:
            if self.bulk_open >= int(hold):
                barrier.set()
            for i in range(int(count)):
                await self._write(writer, _chunked(bulk_event(tag, i)))
                if i == 0:
                    try:
                        await asyncio.wait_for(barrier.wait(), timeout=120)
                    except TimeoutError:
                        pass  # the test sees peak_bulk < hold and fails clearly
            await self._write(writer, _chunked(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        finally:
            self.bulk_open -= 1

    async def _start_stream(self, writer: asyncio.StreamWriter) -> None:
        await self._write(
            writer,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
            b"Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
        )

    async def _send(
        self, writer: asyncio.StreamWriter, status: int, ctype: str, body: bytes, extra: dict[str, str] | None = None
    ) -> None:
        reason = {200: "OK", 401: "Unauthorized", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
                  503: "Service Unavailable"}.get(status, "Status")
        head = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {ctype}", f"Content-Length: {len(body)}", "Connection: close"]
        head += [f"{k}: {v}" for k, v in (extra or {}).items()]
        await self._write(writer, ("\r\n".join(head) + "\r\n\r\n").encode() + body)

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> FaultyUpstream:
        server: asyncio.AbstractServer | None = None

        async def open() -> None:
            nonlocal server
            server = await asyncio.start_server(self._handle, self.host, 0)
            self.port = server.sockets[0].getsockname()[1]

        async def close() -> None:
            assert server is not None
            server.close()
            await server.wait_closed()

        self._serving = ServerThread("faulty-upstream", open, close).start()
        return self

    def stop(self) -> None:
        if self._serving is not None:
            self._serving.stop()


async def _serve_forever(port: int) -> None:
    fake = FaultyUpstream()
    server = await asyncio.start_server(fake._handle, fake.host, port, backlog=2048)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    import sys

    asyncio.run(_serve_forever(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
