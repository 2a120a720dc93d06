"""Pooled upstream connections: one pool per event loop and TLS/proxy option set,
keep-alive connections reused across requests, and every connection closed when
its loop shuts down."""
from __future__ import annotations

import asyncio
import gc
import warnings

from providers import http
from providers.adapters.base import ProviderConfig

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"


def config(port: int = 9, **settings) -> ProviderConfig:
    return ProviderConfig(
        id=1, name="p", provider_type="custom", base_url=f"http://127.0.0.1:{port}/v1", api_key=None,
        settings=settings,
    )


async def keepalive_server(log: list[str]) -> asyncio.Server:
    """Answers every request on a connection; logs connections opened and closed."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        log.append("open")
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(ANSWER)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        log.append("closed")
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def test_pools_are_shared_per_options():
    async def main():
        a = http.pool_for(config())
        b = http.pool_for(config(read_timeout=5))  # timeouts do not need a pool of their own
        c = http.pool_for(config(verify_tls=False))
        d = http.pool_for(config(direct=True))
        return a, b, c, d

    a, b, c, d = asyncio.run(main())
    assert a is b
    assert len({id(a), id(c), id(d)}) == 3
    assert a.closed and c.closed and d.closed  # closed when the loop shut down


def test_connections_are_reused_and_closed_at_loop_shutdown():
    log: list[str] = []

    async def main():
        server = await keepalive_server(log)
        port = server.sockets[0].getsockname()[1]
        timeouts = http.Timeouts(connect=5, read=5)
        for _ in range(3):
            resp = await http.request(config(port), "GET", f"http://127.0.0.1:{port}/v1/models", headers={},
                                      timeout=timeouts)
            assert (resp.status, await resp.read()) == (200, b"{}")
            resp.release()
        opened = list(log)
        return server, opened

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loop = asyncio.new_event_loop()
        try:
            server, opened = loop.run_until_complete(main())
            assert opened == ["open"]  # three requests, one connection
            loop.run_until_complete(loop.shutdown_asyncgens())  # what asyncio.run and uvicorn do at exit
            loop.run_until_complete(asyncio.sleep(0.05))
            assert log == ["open", "closed"]
            server.close()
            loop.run_until_complete(server.wait_closed())
        finally:
            loop.close()
        gc.collect()
    assert not [w for w in caught if "nclosed" in str(w.message)]


def test_close_all_closes_this_loops_pools_and_new_ones_can_follow():
    async def main():
        first = http.pool_for(config())
        await http.close_all()
        second = http.pool_for(config())
        return first, second

    first, second = asyncio.run(main())
    assert first.closed and second.closed
    assert first is not second
