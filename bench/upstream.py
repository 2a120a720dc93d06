"""A fast, paced, OpenAI-compatible fake upstream for the benchmark.

A raw asyncio HTTP/1.1 server (keep-alive, ``Content-Length`` request bodies,
chunked responses), so that it costs far less per request than the gateway it
measures. The requested ``model`` sets the pace, so one server serves every
profile, directly and through the gateway::

    t<ttft ms>-n<chunks>-i<interval ms>-s<chunk size>     e.g.  t50-n20-i10-s16

- streamed (``"stream": true``): headers at once, the first chunk after the time
  to first token, then one chunk every interval, then ``data: [DONE]``;
- not streamed: one ``chat.completion`` after ttft + chunks x interval.

It records when a client connection drops in the middle of a response (the
monotonic clock, shared by every process on the machine), which is how the
benchmark measures how fast a client disconnect reaches the upstream:
``GET /_bench/disconnects`` returns them, ``POST /_bench/reset`` clears them.

Run alone: ``python -m bench.upstream --port 9000``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from dataclasses import dataclass
from typing import Any

CREATED = 1_700_000_000
_SPEC = re.compile(r"t(\d+(?:\.\d+)?)-n(\d+)-i(\d+(?:\.\d+)?)-s(\d+)")


@dataclass(frozen=True)
class Pace:
    ttft: float  # seconds
    chunks: int
    interval: float  # seconds
    size: int  # characters of content per chunk

    @property
    def model(self) -> str:
        return f"t{self.ttft * 1000:g}-n{self.chunks}-i{self.interval * 1000:g}-s{self.size}"

    @classmethod
    def parse(cls, model: str) -> Pace:
        match = _SPEC.fullmatch(model.rsplit("/", 1)[-1])
        if match is None:
            return cls(0.0, 20, 0.0, 16)
        ttft, chunks, interval, size = match.groups()
        return cls(float(ttft) / 1000, int(chunks), float(interval) / 1000, int(size))


ZERO = Pace(0.0, 20, 0.0, 16)
PACED = Pace(0.050, 20, 0.010, 16)


def _chunk(model: str, delta: dict[str, Any], finish: str | None) -> bytes:
    payload = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    frame = b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(frame), frame)


class _Rendered:
    """Pre-rendered wire bytes of one pace (chunked encoding included)."""

    def __init__(self, model: str, pace: Pace) -> None:
        text = "x" * pace.size
        self.first = _chunk(model, {"role": "assistant", "content": text}, None)
        self.middle = _chunk(model, {"content": text}, None)
        self.last = _chunk(model, {}, "stop")
        done = b"data: [DONE]\n\n"
        self.done = b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done)
        completion = {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text * pace.chunks},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": pace.chunks, "total_tokens": 5 + pace.chunks},
        }
        body = json.dumps(completion, separators=(",", ":")).encode()
        self.complete = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )


STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


def _json_response(status: str, payload: Any) -> bytes:
    body = json.dumps(payload).encode()
    return b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        status.encode(),
        len(body),
        body,
    )


class UpstreamServer:
    def __init__(self) -> None:
        self.disconnects: list[float] = []
        self.requests = 0
        self._rendered: dict[str, tuple[Pace, _Rendered]] = {}
        self._server: asyncio.AbstractServer | None = None

    def rendered(self, model: str) -> tuple[Pace, _Rendered]:
        hit = self._rendered.get(model)
        if hit is None:
            pace = Pace.parse(model)
            hit = (pace, _Rendered(model, pace))
            if len(self._rendered) < 1000:
                self._rendered[model] = hit
        return hit

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), host, port, backlog=4096)
        return self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()


class _Connection(asyncio.Protocol):
    __slots__ = ("buf", "busy", "closed", "server", "task", "transport")

    def __init__(self, server: UpstreamServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.busy = False  # a response is under way
        self.task: asyncio.Task[None] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.busy:
            self.server.disconnects.append(time.monotonic())
        if self.task is not None:
            self.task.cancel()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.busy:
            self._next()

    def _next(self) -> None:
        while not self.busy and not self.closed:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1")
            lines = head.split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4 : end + 4 + length]
            self.buf = self.buf[end + 4 + length :]
            self._handle(method, path, body)

    def _handle(self, method: str, path: str, body: bytes) -> None:
        assert self.transport is not None
        server = self.server
        if path.endswith("/chat/completions") and method == "POST":
            server.requests += 1
            try:
                request = json.loads(body)
                model = str(request.get("model") or "")
                stream = bool(request.get("stream"))
            except ValueError:
                self.transport.write(_json_response("400 Bad Request", {"error": {"message": "bad json"}}))
                return
            pace, rendered = server.rendered(model)
            if pace.ttft == 0 and pace.interval == 0:
                # Zero delay: answer at once, each stream chunk still its own write.
                write = self.transport.write
                if not stream:
                    write(rendered.complete)
                    return
                write(STREAM_HEAD)
                write(rendered.first)
                for _ in range(1, pace.chunks):
                    write(rendered.middle)
                write(rendered.last)
                write(rendered.done)
                return
            self.busy = True
            coro = self._stream(pace, rendered) if stream else self._complete(pace, rendered)
            self.task = asyncio.get_running_loop().create_task(coro)
        elif path.endswith("/models"):
            data = [{"id": ZERO.model, "object": "model", "created": CREATED, "owned_by": "bench"}]
            self.transport.write(_json_response("200 OK", {"object": "list", "data": data}))
        elif path == "/_bench/disconnects":
            self.transport.write(_json_response("200 OK",
                                                {"disconnects": server.disconnects, "requests": server.requests}))
        elif path == "/_bench/reset" and method == "POST":
            server.disconnects.clear()
            server.requests = 0
            self.transport.write(_json_response("200 OK", {"ok": True}))
        else:
            self.transport.write(_json_response("404 Not Found", {"error": {"message": "not found"}}))

    def _done(self) -> None:
        self.busy = False
        self.task = None
        if self.buf and not self.closed:
            self._next()

    async def _complete(self, pace: Pace, rendered: _Rendered) -> None:
        try:
            await asyncio.sleep(pace.ttft + pace.chunks * pace.interval)
            if not self.closed:
                self.transport.write(rendered.complete)  # type: ignore[union-attr]
        except asyncio.CancelledError:
            return
        self._done()

    async def _stream(self, pace: Pace, rendered: _Rendered) -> None:
        write = self.transport.write  # type: ignore[union-attr]
        try:
            write(STREAM_HEAD)
            if pace.ttft:
                await asyncio.sleep(pace.ttft)
            write(rendered.first)
            interval = pace.interval
            if interval:
                # Keep to a schedule so that timer slack does not accumulate.
                loop = asyncio.get_running_loop()
                start = loop.time()
                for i in range(1, pace.chunks):
                    delay = start + i * interval - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    if self.closed:
                        return
                    write(rendered.middle)
                await asyncio.sleep(max(0.0, start + pace.chunks * interval - loop.time()))
            else:
                for _ in range(1, pace.chunks):
                    write(rendered.middle)
            if self.closed:
                return
            write(rendered.last)
            write(rendered.done)
        except asyncio.CancelledError:
            return
        self._done()


async def serve(host: str, port: int) -> None:
    server = UpstreamServer()
    bound = await server.start(host, port)
    print(f"listening {host}:{bound}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="The benchmark's fake OpenAI-compatible upstream.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(serve(args.host, args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
