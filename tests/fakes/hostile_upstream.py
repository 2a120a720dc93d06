"""A hostile or broken OpenAI-compatible upstream on raw asyncio sockets: it
sends what no web framework would let it (endless heads, bombs, lies about sizes).

The first path segment picks the behaviour (a provider's base URL is
``http://127.0.0.1:PORT/<scenario>/v1``):

- ``healthy``: a proper answer. Streamed: ``HEALTHY_EVENTS`` events, one every
  ``HEALTHY_GAP`` seconds, then ``[DONE]``; keep-alive.
- ``huge-cl``: ``Content-Length: 1 GiB``, then zeros as fast as they are read;
- ``gzip-bomb``: a 200 gzip body of about 1 MB that inflates to 1 GiB;
- ``endless-headers``: header lines of 8 KB, without end;
- ``endless-value``: one header value without end;
- ``slow-head``: one byte of the head per second;
- ``early-hints``: one ``103 Early Hints`` per second, never a final answer;
- ``huge-models``: ``GET /models`` answers 1 GiB of JSON (chunked);
- ``huge-line``: a stream whose first ``data:`` line is 64 MiB long;
- ``corrupt-gzip``, ``raw-deflate``, ``multi-gzip``: a completion sent as a corrupt
  gzip body, as raw deflate, as two gzip members;
- ``close-reused``: answers the first request of a connection (keep-alive); reads
  the second request on that connection whole, then closes without a word;
- ``record``: answers a completion and records the request's raw head.

``GET /stats`` answers ``{"posts": {scenario: count}, "heads": [raw head, ...]}``.
Run as ``python -m tests.fakes.hostile_upstream PORT`` (0: any) it prints its port.
"""
from __future__ import annotations

import asyncio
import gzip
import json
import sys
import zlib
from collections import Counter
from functools import cache
from typing import Any

GIB = 1 << 30
HEALTHY_EVENTS = 40
HEALTHY_GAP = 0.1
CONTENT = "Hello from the hostile fake, decoded whole."


def completion(content: str = CONTENT) -> bytes:
    return json.dumps({
        "id": "chatcmpl-hostile", "object": "chat.completion", "created": 1_700_000_000, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }).encode()


def chunk_event(index: int) -> bytes:
    return b"data: " + json.dumps({
        "id": "chatcmpl-hostile", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": "m",
        "choices": [{"index": 0, "delta": {"content": f"{index} "}, "finish_reason": None}],
    }).encode() + b"\n\n"


@cache
def gzip_bomb() -> bytes:
    """About 1 MB of gzip that inflates to 1 GiB of spaces (made once, in steps)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * (1 << 20)
    parts = [packer.compress(block) for _ in range(1024)]
    parts.append(packer.flush())
    return b"".join(parts)


def corrupt_gzip() -> bytes:
    good = bytearray(gzip.compress(completion() * 50))
    for i in range(20, 60):
        good[i] ^= 0x5A
    return bytes(good)


def raw_deflate() -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(completion()) + packer.flush()


def multi_gzip() -> bytes:
    body = completion()
    return gzip.compress(body[:20]) + gzip.compress(body[20:])


def head(status: str, headers: dict[str, Any]) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class HostileUpstream:
    def __init__(self) -> None:
        self.posts: Counter[str] = Counter()
        self.heads: list[str] = []

    async def serve(self, port: int) -> asyncio.Server:
        return await asyncio.start_server(self.connection, "127.0.0.1", port, limit=1 << 20)

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served = 0
        try:
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                lines = raw.decode("latin-1").split("\r\n")
                method, target, _version = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length) if length else b""
                parts = target.split("?")[0].strip("/").split("/")
                scenario = parts[0]
                if method == "POST":
                    self.posts[scenario] += 1
                if scenario == "stats":
                    payload = json.dumps({"posts": self.posts, "heads": self.heads}).encode()
                    writer.write(head("200 OK", {"Content-Type": "application/json", "Content-Length": len(payload)})
                                 + payload)
                    await writer.drain()
                    continue
                if scenario == "close-reused" and served >= 1:
                    return  # the request was read whole: close without answering
                if scenario == "record":
                    self.heads.append(raw.decode("latin-1"))
                stream = b'"stream": true' in body or b'"stream":true' in body
                keep = await self.answer(scenario, parts[-1], stream, writer)
                served += 1
                if not keep:
                    return
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, asyncio.LimitOverrunError):
            return
        finally:
            writer.close()

    async def answer(self, scenario: str, last: str, stream: bool, writer: asyncio.StreamWriter) -> bool:
        """Send the answer; True to keep the connection for another request."""
        w = writer.write
        if scenario == "huge-cl":
            w(head("200 OK", {"Content-Type": "application/json", "Content-Length": GIB}))
            zeros = b"0" * 65536
            for _ in range(GIB // len(zeros)):
                w(zeros)
                await writer.drain()
            return False
        if scenario == "gzip-bomb":
            bomb = gzip_bomb()
            w(head("200 OK", {"Content-Type": "application/json", "Content-Encoding": "gzip",
                              "Content-Length": len(bomb)}) + bomb)
            await writer.drain()
            return False
        if scenario in ("endless-headers", "endless-value"):
            w(b"HTTP/1.1 200 OK\r\n" + (b"X-Long: " if scenario == "endless-value" else b""))
            index = 0
            while True:
                index += 1
                w(b"a" * 8192 if scenario == "endless-value" else f"X-Pad-{index}: ".encode() + b"a" * 8000 + b"\r\n")
                await writer.drain()
        if scenario == "slow-head":
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                w(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(1)
            return False
        if scenario == "early-hints":
            while True:
                w(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
                await writer.drain()
                await asyncio.sleep(1)
        if scenario == "huge-models" and last == "models":
            w(head("200 OK", {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}))
            w(chunked(b'{"object": "list", "data": ['))
            entry = b'{"id": "m", "object": "model"},' * 2048
            for _ in range(GIB // len(entry)):
                w(chunked(entry))
                await writer.drain()
            return False
        if scenario == "huge-line" and stream:
            w(head("200 OK", {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked"}))
            w(chunked(b"data: "))
            piece = b"a" * 65536
            for _ in range(1024):  # 64 MiB
                w(chunked(piece))
                await writer.drain()
            w(chunked(b"\n\n") + b"0\r\n\r\n")
            await writer.drain()
            return False
        # Only these keep the connection: an idle pooled connection elsewhere would
        # hold a file descriptor that the tests count.
        keep = scenario in ("healthy", "close-reused") and last != "models"
        close = {} if keep else {"Connection": "close"}
        encoded = {"corrupt-gzip": ("gzip", corrupt_gzip), "raw-deflate": ("deflate", raw_deflate),
                   "multi-gzip": ("gzip", multi_gzip)}.get(scenario)
        if encoded is not None:
            data = encoded[1]()
            w(head("200 OK", {"Content-Type": "application/json", "Content-Encoding": encoded[0],
                              "Content-Length": len(data), **close}) + data)
            await writer.drain()
            return keep
        if last == "models":
            data = json.dumps({"object": "list", "data": [{"id": "m", "object": "model"}]}).encode()
            w(head("200 OK", {"Content-Type": "application/json", "Content-Length": len(data), **close}) + data)
            await writer.drain()
            return keep
        if stream:
            w(head("200 OK", {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked", **close}))
            for index in range(HEALTHY_EVENTS):
                w(chunked(chunk_event(index)))
                await writer.drain()
                await asyncio.sleep(HEALTHY_GAP)
            w(chunked(b"data: [DONE]\n\n") + b"0\r\n\r\n")
            await writer.drain()
            return keep
        data = completion()
        w(head("200 OK", {"Content-Type": "application/json", "Content-Length": len(data), **close}) + data)
        await writer.drain()
        return keep


async def _main(port: int) -> None:
    upstream = HostileUpstream()
    gzip_bomb()
    server = await upstream.serve(port)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(_main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
