"""The floor under the gateway: what a bare relay costs on this machine.

Two ASGI apps of a few lines that only forward the request body to the benchmark
upstream and relay the answer's bytes back, with no authentication, routing,
parsing or SSE handling, each run under the gateway's production uvicorn flags
with the same pinning and load client as ``manage.py bench``:

- ``aiohttp``: the relay through aiohttp's client (the library the gateway's
  upstream client, ``providers/transport/``, is built on);
- ``protocol``: the relay through a raw asyncio protocol with httptools (the
  gateway's own HTTP/1.1 client before issue 12, without its timeouts, pooling
  rules or checks): what owning the wire could still save, for comparison.

Prints, for the paced profile streamed, requests/s and the relay process's CPU per
request at each concurrency, to set beside the gateway's figures::

    .venv/bin/python -m bench.floor                 # concurrency 16,64,256, 2 s each
    .venv/bin/python -m bench.floor --concurrency 64 --duration 5
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from typing import Any

RELAYS = ("aiohttp", "protocol")


# The relays (run inside uvicorn; the upstream's port comes from BENCH_UPSTREAM_PORT) ----


def _port() -> int:
    return int(os.environ["BENCH_UPSTREAM_PORT"])


async def _body(receive: Any) -> bytes:
    parts = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(parts)


_session: Any = None


async def aiohttp_relay(scope: dict[str, Any], receive: Any, send: Any) -> None:
    import aiohttp

    global _session
    if scope["type"] != "http":
        return
    body = await _body(receive)
    if _session is None:
        _session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    url = f"http://127.0.0.1:{_port()}/v1/chat/completions"
    async with _session.post(url, data=body, headers={"Content-Type": "application/json"}) as resp:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        async for chunk in resp.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


class _Upstream(asyncio.Protocol):
    def __init__(self) -> None:
        import httptools

        self.parser = httptools.HttpResponseParser(self)
        self.transport: Any = None
        self.head: Any = None
        self.chunks: list[bytes] = []
        self.waiter: Any = None
        self.eof = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_headers_complete(self) -> None:
        self.head.set_result(None)

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self._wake()

    def on_message_complete(self) -> None:
        self.eof = True
        self._wake()

    def _wake(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def readany(self) -> bytes:
        while not self.chunks:
            if self.eof:
                return b""
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
        chunks, self.chunks = self.chunks, []
        return b"".join(chunks)


_idle: list[_Upstream] = []


async def protocol_relay(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = await _body(receive)
    loop = asyncio.get_running_loop()
    if _idle:
        upstream = _idle.pop()
    else:
        _transport, upstream = await loop.create_connection(_Upstream, "127.0.0.1", _port())
    upstream.head = loop.create_future()
    upstream.eof = False
    upstream.parser = type(upstream.parser)(upstream)
    upstream.transport.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )
    await upstream.head
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    while chunk := await upstream.readany():
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    _idle.append(upstream)
    await send({"type": "http.response.body", "body": b""})


# The measurement --------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    from . import client
    from .runner import ROOT, _pinner, cpu_seconds, free_port
    from .upstream import PACED

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="16,64,256")
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--relays", default=",".join(RELAYS))
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",")]
    cores = sorted(os.sched_getaffinity(0))
    relay_cores = {cores[-1]} if len(cores) >= 2 else None
    other_cores = set(cores[:-1]) if len(cores) >= 2 else None
    if other_cores:
        os.sched_setaffinity(0, other_cores)
    upstream_port = free_port()
    upstream = subprocess.Popen([sys.executable, "-m", "bench.upstream", "--port", str(upstream_port)], cwd=ROOT,
                                stdout=subprocess.PIPE, preexec_fn=_pinner(other_cores))
    assert upstream.stdout is not None
    upstream.stdout.readline()
    body = {"model": PACED.model, "messages": [{"role": "user", "content": "Say hello."}], "stream": True}
    ramp = PACED.ttft + PACED.chunks * PACED.interval
    print("paced profile, streamed; CPU is the relay process's, per request")
    try:
        for relay in args.relays.split(","):
            port = free_port()
            env = {**os.environ, "BENCH_UPSTREAM_PORT": str(upstream_port)}
            proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", f"bench.floor:{relay}_relay", "--host", "127.0.0.1",
                 "--port", str(port), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
                 "--log-level", "warning", "--backlog", "4096", "--lifespan", "off"],
                cwd=ROOT, env=env, preexec_fn=_pinner(relay_cores),
            )
            time.sleep(1.5)
            target = client.Target("127.0.0.1", port, "/v1/chat/completions")

            async def measure(target: client.Target = target, proc: Any = proc, relay: str = relay) -> None:
                await client.run_load(target, body, concurrency=max(levels), duration=0.5, ramp=ramp)
                for conc in levels:
                    before = cpu_seconds(proc.pid)
                    result = await client.run_load(target, body, concurrency=conc, duration=args.duration,
                                                   min_requests=conc, ramp=ramp if conc > 1 else 0.0)
                    cpu = cpu_seconds(proc.pid) - before
                    print(f"  {relay:9} c={conc:<4} {result.rps:7.0f}/s "
                          f" CPU {cpu / max(1, result.completed) * 1000:.3f} ms/req"
                          f"  errors {result.errors}")

            import uvloop

            uvloop.run(measure())
            proc.terminate()
            proc.wait(10)
    finally:
        upstream.terminate()
        upstream.wait(10)


if __name__ == "__main__":
    main()
