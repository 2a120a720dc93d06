"""The upstream client for synchronous callers (the connection test, the capability
probe, fetching a provider's models from the admin, the REST API or a command).

The same ``client.request()`` runs on a private event loop in a thread of its own,
so the calls get the same policy, TLS, proxy and bounds as ``/v1``, whether the
caller is a plain thread or a thread under an event loop of its own."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator, Mapping
from typing import Any, TypeVar

from ..provider_config import ProviderConfig
from . import client

T = TypeVar("T")


class SyncResponse:
    """An answer whose head arrived; read it, then ``close()`` it."""

    def __init__(self, owner: SyncClient, response: client.Response) -> None:
        self._owner = owner
        self._response = response
        self.status = response.status
        self.headers = response.headers

    def read(self, limit: int | None = None) -> bytes:
        return self._owner.run(self._response.read(limit))

    def iter_bytes(self) -> Iterator[bytes]:
        while chunk := self._owner.run(self._response.readany()):
            yield chunk

    def close(self) -> None:
        self._owner.loop.call_soon_threadsafe(self._response.close)


class SyncClient:
    """``with SyncClient(config, timeouts) as c: status, body = c.get(url, headers)``."""

    def __init__(self, config: ProviderConfig, timeout: client.Timeouts) -> None:
        self.config = config
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="upstream-sync", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def open(self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None = None) -> SyncResponse:
        response = self.run(client.request(self.config, method, url, headers=headers, body=body, timeout=self.timeout))
        return SyncResponse(self, response)

    def get(self, url: str, *, headers: Mapping[str, str]) -> tuple[int, bytes]:
        """(status, body) of a ``GET``; redirects are not followed."""
        response = self.open("GET", url, headers=headers)
        try:
            return response.status, response.read()
        finally:
            response.close()

    def close(self) -> None:
        if self.loop.is_closed():
            return
        try:
            self.run(client.close_all())
            self.run(self.loop.shutdown_asyncgens())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join()
            self.loop.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
