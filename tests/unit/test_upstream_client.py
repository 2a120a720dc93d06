"""The one upstream client (providers/transport/client.py, on aiohttp) against
scripted loopback servers: keep-alive reuse and pooling per provider, sessions
closed at loop shutdown, proxies (absolute-form for plain HTTP, a CONNECT tunnel
with verified TLS for HTTPS, a dead proxy), the CA bundle, the head deadline with
interim answers counted, time to first byte and the idle timeout, body caps, and
redirects never followed."""
from __future__ import annotations

import asyncio
import gc
import ssl
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from providers.adapters.base import ProviderConfig
from providers.transport import client, errors
from tests.fakes.tls import self_signed

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]
T = client.Timeouts(connect=5, first_byte=5, idle=5)
JSON_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"
SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"


def config(base_url: str = "http://127.0.0.1:9/v1", name: str = "p", id: int = 1, **settings) -> ProviderConfig:
    return ProviderConfig(id=id, name=name, provider_type="custom", base_url=base_url, api_key=None,
                          settings=settings)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class Scripted:
    """A loopback server; ``handler(reader, writer, n)`` answers the n-th request
    (counted over all connections). Records connections, request heads and bodies."""

    def __init__(self, handler: Handler, ssl_context: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.ssl_context = ssl_context
        self.connections = 0
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Scripted:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await client.close_all()

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    def url(self, path: str = "/v1/chat/completions", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                self.bodies.append(await reader.readexactly(length) if length else b"")
                await self.handler(reader, writer, len(self.heads))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def post(url: str, body: bytes = b"{}", *, cfg: ProviderConfig | None = None,
               timeout: client.Timeouts = T) -> client.Response:
    return await client.request(cfg or config(url.rsplit("/chat/completions", 1)[0]), "POST", url,
                                headers={"Content-Type": "application/json"}, body=body, timeout=timeout)


def test_a_stream_arrives_piece_by_piece_and_the_connection_is_reused():
    async def handler(reader, writer, n):
        writer.write(SSE_HEAD)
        for i in range(3):
            writer.write(chunk(b'data: {"n":%d}\n\n' % i))
            await writer.drain()
            await asyncio.sleep(0.02)
        writer.write(b"0\r\n\r\n")

    async def main():
        async with Scripted(handler) as server:
            for _ in range(2):
                resp = await post(server.url())
                pieces = [piece async for piece in resp.iter_any()]
                assert b"".join(pieces) == b'data: {"n":0}\n\ndata: {"n":1}\n\ndata: {"n":2}\n\n'
                assert len(pieces) >= 2  # relayed as it came, not buffered whole
                resp.release()
            assert server.connections == 1

    asyncio.run(main())


def test_sessions_are_per_provider_and_options_and_close_at_loop_shutdown():
    async def main():
        a = client.session_for(config())
        b = client.session_for(config(read_timeout=5))  # timeouts need no session of their own
        c = client.session_for(config(verify_tls=False))
        d = client.session_for(config(direct=True))
        e = client.session_for(config(name="other", id=2))  # its own connection cap
        f = client.session_for(config(max_connections=3))
        assert f.connector.limit == 3 and a.connector.limit == 1024
        return a, b, c, d, e

    a, b, c, d, e = asyncio.run(main())
    assert a is b
    assert len({id(a), id(c), id(d), id(e)}) == 4
    assert a.closed and c.closed and d.closed and e.closed  # closed when the loop shut down


def test_connections_are_reused_and_closed_at_loop_shutdown():
    log: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        log.append("open")
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(JSON_OK)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        log.append("closed")
        writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        for _ in range(3):
            resp = await client.request(config(f"http://127.0.0.1:{port}/v1"), "GET",
                                        f"http://127.0.0.1:{port}/v1/models", headers={}, timeout=T)
            assert (resp.status, await resp.read()) == (200, b"{}")
            resp.release()
        return server, list(log)

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


def test_the_head_has_a_deadline_that_interim_answers_do_not_extend():
    async def handler(reader, writer, n):
        for _ in range(20):
            writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(0.1)

    async def main():
        async with Scripted(handler) as server:
            started = time.monotonic()
            with pytest.raises(errors.ReadTimeout) as caught:
                await post(server.url(), timeout=client.Timeouts(connect=5, first_byte=0.5, idle=0.3))
            assert caught.value.kind == "head"
            assert time.monotonic() - started < 1.5

    asyncio.run(main())


def test_first_byte_and_idle_timeouts_are_separate():
    async def handler(reader, writer, n):
        writer.write(SSE_HEAD)
        await writer.drain()
        await asyncio.sleep(0.6)  # thinking: longer than the idle timeout, within the first-byte one
        writer.write(chunk(b'data: {"n":0}\n\n'))
        await writer.drain()
        await asyncio.sleep(5)  # then silent

    async def main():
        async with Scripted(handler) as server:
            resp = await post(server.url(), timeout=client.Timeouts(connect=5, first_byte=2, idle=0.3))
            assert await resp.readany() == b'data: {"n":0}\n\n'
            started = time.monotonic()
            with pytest.raises(errors.ReadTimeout) as caught:
                await resp.readany()
            assert caught.value.kind == "idle" and time.monotonic() - started < 1.5
            resp.close()
            resp = await post(server.url(), timeout=client.Timeouts(connect=5, first_byte=0.3, idle=5))
            with pytest.raises(errors.ReadTimeout) as caught:
                await resp.readany()
            assert caught.value.kind == "first_byte"
            resp.close()

    asyncio.run(main())


def test_a_slow_reader_is_not_an_idle_upstream():
    """The idle timeout measures the upstream: while the gateway itself does not
    read (its own client is slow), silence on the wire is not the upstream's."""
    async def handler(reader, writer, n):
        writer.write(SSE_HEAD + chunk(b'data: {"n":0}\n\n') + chunk(b'data: {"n":1}\n\n'))
        await writer.drain()
        await asyncio.sleep(0.7)  # silent while the gateway's consumer is busy
        writer.write(chunk(b'data: {"n":2}\n\n') + b"0\r\n\r\n")

    async def main():
        async with Scripted(handler) as server:
            resp = await post(server.url(), timeout=client.Timeouts(connect=5, first_byte=2, idle=0.2))
            body = await resp.readany()
            await asyncio.sleep(0.6)  # the consumer is busy for three idle timeouts
            while piece := await resp.readany():
                body += piece
            assert body.count(b"data: ") == 3
            resp.release()

    asyncio.run(main())


def test_a_declared_body_over_the_cap_is_refused_before_it_is_read(settings):
    settings.GATEWAY_UPSTREAM_MAX_BODY_BYTES = 1000

    async def handler(reader, writer, n):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000)

    async def main():
        async with Scripted(handler) as server:
            resp = await post(server.url())
            with pytest.raises(errors.LimitExceeded) as caught:
                await resp.read()
            assert caught.value.what == "body"
            resp.close()

    asyncio.run(main())


def test_a_redirect_is_returned_not_followed_and_only_same_origin_is_joined():
    async def handler(reader, writer, n):
        writer.write(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://elsewhere.test/x\r\n"
                     b"Content-Length: 0\r\n\r\n")

    async def main():
        async with Scripted(handler) as server:
            resp = await post(server.url())
            assert resp.status == 307 and len(server.heads) == 1
            resp.close()

    asyncio.run(main())
    assert client.same_origin("http://a.test:8000/v1/models", "/v2/models") == "http://a.test:8000/v2/models"
    assert client.same_origin("http://a.test:8000/v1/models", "http://b.test:8000/v1/models") is None
    assert client.same_origin("http://a.test/v1/models", "https://a.test/v1/models") is None
    assert client.same_origin("http://a.test/v1/models", "ftp://a.test/models") is None


def test_no_cookie_is_kept_from_one_request_to_the_next():
    async def handler(reader, writer, n):
        writer.write(b"HTTP/1.1 200 OK\r\nSet-Cookie: session=abc\r\nContent-Length: 2\r\n\r\n{}")

    async def main():
        async with Scripted(handler) as server:
            for _ in range(2):
                resp = await post(server.url())
                await resp.read()
                resp.release()
            assert b"cookie" not in server.heads[1].lower()

    asyncio.run(main())


class Proxy:
    """A loopback HTTP proxy: answers plain-HTTP requests itself (recording the
    request line and headers), tunnels CONNECT to the requested port."""

    def __init__(self) -> None:
        self.heads: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Proxy:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://user:p%40ss@127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head)
        if not head.startswith(b"CONNECT "):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nproxied")
            await writer.drain()
            writer.close()
            return
        port = int(head.split(b" ")[1].rsplit(b":", 1)[1])
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except ConnectionError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.fixture
def proxy_env(monkeypatch):
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                 "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)

    def use(proxy_url: str) -> None:
        for name in ("HTTP_PROXY", "HTTPS_PROXY"):
            monkeypatch.setenv(name, proxy_url)

    return use


def test_plain_http_through_a_proxy_uses_the_absolute_form_with_credentials(proxy_env):
    async def main():
        async with Proxy() as proxy:
            proxy_env(proxy.url)
            url = "http://upstream.test:8080/v1/chat/completions"
            resp = await post(url, cfg=config("http://upstream.test:8080/v1"))
            assert await resp.read() == b"proxied"
            resp.release()
            head = proxy.heads[0].decode()
            assert head.startswith("POST http://upstream.test:8080/v1/chat/completions HTTP/1.1\r\n")
            assert "Host: upstream.test:8080\r\n" in head
            assert "Proxy-Authorization: Basic dXNlcjpwQHNz\r\n" in head  # user:p@ss
            # direct: the environment's proxy is ignored (nothing listens on upstream.test)
            with pytest.raises(errors.ConnectError):
                await post(url, cfg=config("http://upstream.test:8080/v1", direct=True))
            await client.close_all()

    asyncio.run(main())


def test_https_through_a_proxy_tunnels_and_verifies_the_certificate(proxy_env, tmp_path: Path):
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def handler(reader, writer, n):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret")

    async def main():
        async with Proxy() as proxy, Scripted(handler, ssl_context=context) as server:
            proxy_env(proxy.url)
            url = server.url(scheme="https")
            base = url.rsplit("/chat/completions", 1)[0]
            with pytest.raises(errors.TLSCertificateError):  # not trusted without the CA bundle
                await post(url, cfg=config(base))
            trusted = config(base, ca_bundle=str(cert))
            for _ in range(2):
                resp = await post(url, cfg=trusted)
                assert await resp.read() == b"secret"
                resp.release()
            connects = [h for h in proxy.heads if h.startswith(b"CONNECT ")]
            assert len(connects) == 2  # one refused handshake, then one tunnel kept alive
            assert connects[-1].startswith(f"CONNECT 127.0.0.1:{server.port} HTTP/1.1\r\n".encode())
            assert b"Proxy-Authorization: Basic dXNlcjpwQHNz\r\n" in connects[-1]
            assert server.connections == 1  # the trusted tunnel served both requests

    asyncio.run(main())


def test_a_dead_proxy_is_a_proxy_error(proxy_env):
    async def main():
        async with Proxy() as proxy:
            url = proxy.url
        proxy_env(url)  # closed: nothing listens there any more
        with pytest.raises(errors.ProxyError):
            await post("http://upstream.test/v1/chat/completions", cfg=config("http://upstream.test/v1"))
        await client.close_all()

    asyncio.run(main())


def test_a_pooled_connection_the_server_closed_is_replaced_without_an_error():
    async def handler(reader, writer, n):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # the server ends keep-alive without saying so (no Connection: close)

    async def main():
        async with Scripted(handler) as server:
            for _ in range(3):
                resp = await post(server.url())
                assert await resp.read() == b"ok"
                resp.release()
                await asyncio.sleep(0.05)
            assert server.connections == 3 and len(server.heads) == 3

    asyncio.run(main())


def test_header_values_with_line_breaks_are_refused_before_anything_is_sent():
    async def handler(reader, writer, n):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    async def main():
        async with Scripted(handler) as server:
            with pytest.raises(errors.InvalidRequest):
                await client.request(config(server.url("/v1")), "POST", server.url(),
                                     headers={"X-Evil": "a\r\nInjected: yes"}, body=b"{}", timeout=T)
            assert server.heads == []

    asyncio.run(main())


def test_models_lookup_follows_same_origin_redirects_and_never_sends_credentials_elsewhere():
    from providers.adapters.http_common import get_json

    async def other(reader, writer, n):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"data\":[]}")

    async def main():
        async with Scripted(other) as elsewhere:
            async def handler(reader, writer, n):
                if n == 1:  # moved, on the same server
                    writer.write(b"HTTP/1.1 308 Permanent Redirect\r\nLocation: /v2/models\r\n"
                                 b"Content-Length: 0\r\n\r\n")
                elif n == 2:  # then off to another origin
                    location = elsewhere.url("/v1/models").encode()
                    writer.write(b"HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % location)

            async with Scripted(handler) as server:
                cfg = config(server.url("/v1"))
                status, body = await get_json(cfg, server.url("/v1/models"), headers={"Authorization": "Bearer sk-x"})
                assert (status, body) == (302, None)  # the cross-origin answer is reported, not followed
                assert [h.split(b" ")[1] for h in server.heads] == [b"/v1/models", b"/v2/models"]
                assert elsewhere.heads == []  # the key never went to the other origin

    asyncio.run(main())


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-Split: a\rHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
])
def test_framing_attacks_are_refused_cleanly(answer):
    """Negative or duplicate Content-Length, Content-Length with chunked, a bare CR
    splitting the head: an error, never a body taken from the wrong bytes."""
    async def handler(reader, writer, n):
        writer.write(answer)

    async def main():
        async with Scripted(handler) as server:
            with pytest.raises(errors.TransportError):
                resp = await post(server.url())
                await resp.read()

    asyncio.run(main())
