"""What the fake upstreams share: serving on 127.0.0.1 from an event loop in a
background thread, and recording the requests they were sent."""
from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import web


@dataclass
class Seen:
    """One request a fake was sent (headers lower-cased, body as JSON)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


def seen(request: web.Request, body: Any) -> Seen:
    return Seen(request.method, request.path, dict(request.query),
                {k.lower(): v for k, v in request.headers.items()}, body)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ServerThread:
    """A fresh event loop in a daemon thread: ``start()`` runs ``open()`` on it and
    returns once that is done (the server listens); ``stop()`` stops the loop, runs
    ``close()`` and waits for the thread to end."""

    def __init__(self, name: str, open: Callable[[], Awaitable[None]], close: Callable[[], Awaitable[None]]) -> None:
        self.name = name
        self._open = open
        self._close = close
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ServerThread:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self._open())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._close())
            loop.close()

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)


def serve_app(app: web.Application, host: str, port: int, *, name: str, ssl_context: Any = None,
              handler_cancellation: bool = True) -> ServerThread:
    """Serve an aiohttp ``app`` on ``host:port`` (HTTPS with ``ssl_context``) until
    the returned thread is stopped."""
    # No access log: an upstream sees its own URLs, query secrets included; the secret
    # scanner watches the gateway's logs, not the fakes'.
    runner = web.AppRunner(app, handler_cancellation=handler_cancellation, access_log=None)

    async def open() -> None:
        await runner.setup()
        await web.TCPSite(runner, host, port, ssl_context=ssl_context).start()

    async def close() -> None:
        await runner.cleanup()
        if ssl_context is not None:
            # Closing a TLS connection takes a few loop turns (close_notify both
            # ways); let them run, so no socket is left to the garbage collector.
            await asyncio.sleep(0.2)

    return ServerThread(name, open, close).start()


class AppFake:
    """Base of the aiohttp fakes: ``start()`` serves ``make_app()`` on ``host:port``
    (a free port when 0) from a background thread, ``stop()`` ends it."""

    host: str
    port: int
    ssl_context: Any = None
    thread_name = "fake-upstream"
    handler_cancellation = True
    _server: ServerThread | None = None

    def make_app(self) -> web.Application:
        raise NotImplementedError

    def start(self) -> Self:
        self.port = self.port or free_port(self.host)
        self._server = serve_app(self.make_app(), self.host, self.port, name=self.thread_name,
                                 ssl_context=self.ssl_context, handler_cancellation=self.handler_cancellation)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
