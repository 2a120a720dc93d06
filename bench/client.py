"""A raw HTTP/1.1 keep-alive load client on asyncio streams.

Each worker holds one connection and sends the same prepared request bytes
again and again until the deadline, reading ``Content-Length`` and chunked
answers by hand; no HTTP library sits between the measurement and the socket.
Time to first token is when the first body bytes of the answer arrive.
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Target:
    host: str
    port: int
    path: str
    headers: dict[str, str] = field(default_factory=dict)


def build_request(target: Target, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body, separators=(",", ":")).encode()
    lines = [
        f"POST {target.path} HTTP/1.1",
        f"Host: {target.host}:{target.port}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
    ]
    lines += [f"{k}: {v}" for k, v in target.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def build_get(target: Target, path: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {target.host}:{target.port}"]
    lines += [f"{k}: {v}" for k, v in target.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class ResponseError(Exception):
    pass


async def read_head(reader: asyncio.StreamReader) -> tuple[int, int | None, bool]:
    """Return (status, content length or None, chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length: int | None = None
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        lname = name.strip().lower()
        if lname == b"content-length":
            length = int(value)
        elif lname == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    return status, length, chunked


async def read_body(
    reader: asyncio.StreamReader, length: int | None, chunked: bool, on_first: Any = None
) -> bytes:
    if not chunked:
        data = await reader.readexactly(length or 0)
        if on_first is not None:
            on_first()
        return data
    parts: list[bytes] = []
    while True:
        line = await reader.readuntil(b"\r\n")
        size = int(line.split(b";", 1)[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        data = await reader.readexactly(size + 2)
        if on_first is not None and not parts:
            on_first()
        parts.append(data[:-2])


@dataclass
class RunResult:
    requests: int = 0  # answers that ended in the measuring window
    completed: int = 0  # every answer, ramp and tail included (for CPU per request)
    errors: int = 0
    elapsed: float = 0.0
    ttft: list[float] = field(default_factory=list)  # seconds
    total: list[float] = field(default_factory=list)  # seconds
    error_samples: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0


async def open_connections(target: Target, count: int) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    sem = asyncio.Semaphore(128)

    async def one() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        async with sem:
            return await asyncio.open_connection(target.host, target.port, limit=1 << 20)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def close_connections(conns: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]) -> None:
    for _, writer in conns:
        writer.close()
    for _, writer in conns:
        try:
            await writer.wait_closed()
        except Exception:  # noqa: BLE001 -- a benchmark client records every failure
            pass


async def run_load(
    target: Target,
    body: dict[str, Any],
    *,
    concurrency: int,
    duration: float,
    min_requests: int = 0,
    ramp: float = 0.0,
) -> RunResult:
    """``concurrency`` connections send requests back to back; answers that end
    within the measuring window of ``duration`` seconds count (and at least
    ``min_requests`` of them, which may stretch the window).

    ``ramp``: worker *i* starts ``ramp * i / concurrency`` seconds late and the
    window opens after the ramp. With ``ramp`` set to one request's duration the
    workers are spread evenly over it, instead of all sending at the same instant
    and, their requests all lasting the same time, again at the same instant
    forever after: a synchronised burst that no real population of clients makes."""
    request = build_request(target, body)
    conns = await open_connections(target, concurrency)
    result = RunResult()
    perf = time.perf_counter
    start = perf()
    window_start = start + ramp
    deadline = window_start + duration
    last_end = window_start
    stop = False

    async def worker(index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal stop, last_end
        if ramp:
            await asyncio.sleep(ramp * index / concurrency)
        while not stop:
            t0 = perf()
            first: list[float] = []
            writer.write(request)
            try:
                status, length, chunked = await read_head(reader)
                data = await read_body(reader, length, chunked, lambda first=first: first.append(perf()))
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                result.errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(type(exc).__name__)
                return
            t1 = perf()
            if status == 200:
                result.completed += 1
            if t1 < window_start:
                continue
            if status != 200:
                result.errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(f"{status}: {data[:200]!r}")
            elif t1 <= deadline or result.requests < min_requests:
                result.requests += 1
                result.total.append(t1 - t0)
                result.ttft.append((first[0] if first else t1) - t0)
                last_end = max(last_end, t1)
            if t1 >= deadline and result.requests >= min_requests:
                stop = True

    try:
        await asyncio.gather(*(worker(i, r, w) for i, (r, w) in enumerate(conns)))
    finally:
        result.elapsed = max(duration, last_end - window_start)
        await close_connections(conns)
    return result


async def fetch_json(target: Target, path: str) -> Any:
    reader, writer = await asyncio.open_connection(target.host, target.port)
    try:
        writer.write(build_get(target, path))
        _status, length, chunked = await read_head(reader)
        return json.loads(await read_body(reader, length, chunked))
    finally:
        writer.close()


async def post_json(target: Target, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    reader, writer = await asyncio.open_connection(target.host, target.port)
    try:
        writer.write(build_request(Target(target.host, target.port, path, target.headers), body))
        status, length, chunked = await read_head(reader)
        return status, json.loads(await read_body(reader, length, chunked) or b"null")
    finally:
        writer.close()


class HeldStream:
    """A streamed request kept open: the answer is drained in the background."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.first = asyncio.get_running_loop().create_future()
        self.task: asyncio.Task[None] | None = None

    async def _drain(self) -> None:
        try:
            status, _length, chunked = await read_head(self.reader)
            if status != 200 or not chunked:
                raise ResponseError(f"status {status}")
            while True:
                line = await self.reader.readuntil(b"\r\n")
                size = int(line.split(b";", 1)[0], 16)
                if size == 0:
                    return
                await self.reader.readexactly(size + 2)
                if not self.first.done():
                    self.first.set_result(time.monotonic())
        except Exception as exc:  # noqa: BLE001 -- a benchmark client records every failure
            if not self.first.done():
                self.first.set_exception(exc)
        finally:
            if not self.first.done():
                self.first.set_exception(ResponseError("closed before the first chunk"))

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.writer.close()


async def open_stream(target: Target, body: dict[str, Any]) -> HeldStream:
    reader, writer = await asyncio.open_connection(target.host, target.port)
    held = HeldStream(reader, writer)
    writer.write(build_request(target, body))
    held.task = asyncio.get_running_loop().create_task(held._drain())
    return held
