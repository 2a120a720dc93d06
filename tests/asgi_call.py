"""Calling an ASGI application in process, as a server would: one request, the
whole answer collected (status, lower-cased headers, body)."""
from __future__ import annotations

import asyncio
from typing import Any

HOST = "127.0.0.1:8000"


async def call(app: Any, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"",
               receive: Any = None, scheme: str = "http") -> tuple[int, list[tuple[str, str]], bytes]:
    raw_headers = [(b"host", HOST.encode())] + [
        (k.lower().encode("latin1"), v.encode("latin1")) for k, v in (headers or {}).items()
    ]
    if body:
        raw_headers.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": scheme,
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": raw_headers,
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }
    delivered = False

    async def body_once() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never leaves
        raise AssertionError("unreachable")

    receive = receive or body_once
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    # A task of its own, as under a server: the language activated stays in it.
    await asyncio.wait_for(asyncio.create_task(app(scope, receive, send)), 20)
    start = messages[0]
    assert start["type"] == "http.response.start"
    out_headers = [(k.decode("latin1").lower(), v.decode("latin1")) for k, v in start["headers"]]
    content = b"".join(m.get("body", b"") for m in messages[1:])
    assert not messages[-1].get("more_body")
    return start["status"], out_headers, content
