"""The gateway's own HTTP/1.1 upstream client (providers/h1.py, providers/http.py)
against scripted loopback servers: every body framing, compression, interim
answers, keep-alive reuse (and a pooled connection the server closed), read
timeouts, disconnects, flow control, header injection, redirects, and proxies
(absolute-form for plain HTTP, a CONNECT tunnel with verified TLS for HTTPS)."""
from __future__ import annotations

import asyncio
import gzip
import ssl
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from providers import h1, http
from providers.adapters.base import ProviderConfig
from tests.fakes.tls import self_signed

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]
T = http.Timeouts(connect=5, read=5)


def config(base_url: str, **settings) -> ProviderConfig:
    return ProviderConfig(id=1, name="p", provider_type="custom", base_url=base_url, api_key=None, settings=settings)


class Scripted:
    """A loopback server; ``handler(reader, writer, n)`` answers the n-th request
    (counted over all connections). Records connections and request heads."""

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
        await http.close_all()

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


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"


async def post(url: str, body: bytes = b"{}", *, cfg: ProviderConfig | None = None,
               timeout: http.Timeouts = T, headers: dict[str, str] | None = None) -> h1.Response:
    return await http.request(cfg or config(url), "POST", url, headers=headers or {"Content-Type": "application/json"},
                              body=body, timeout=timeout)


def run(coro: Awaitable[None]) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def test_a_chunked_stream_arrives_piece_by_piece_and_the_connection_is_reused():
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
                resp = await post(server.url(), b'{"a":1}')
                assert resp.status == 200 and resp.headers["content-type"] == "text/event-stream"
                pieces = [piece async for piece in resp.iter_any()]
                assert pieces == [b'data: {"n":0}\n\n', b'data: {"n":1}\n\n', b'data: {"n":2}\n\n']
                resp.release()
            assert server.connections == 1
            head = server.heads[0].decode()
            assert head.startswith("POST /v1/chat/completions HTTP/1.1\r\n")
            assert f"Host: 127.0.0.1:{server.port}\r\n" in head and "Content-Length: 7\r\n" in head
            assert server.bodies == [b'{"a":1}', b'{"a":1}']

    run(main())


def test_content_length_and_close_delimited_bodies():
    async def handler(reader, writer, n):
        if n == 1:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        else:  # no length, no chunking: the body ends when the server closes
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil ")
            await writer.drain()
            writer.write(b"the end")
            await writer.drain()
            writer.close()

    async def main():
        async with Scripted(handler) as server:
            resp = await post(server.url())
            assert await resp.read() == b"hello"
            resp.release()
            resp = await post(server.url())
            assert await resp.read() == b"until the end"
            resp.release()
            assert server.connections == 1
            resp = await post(server.url())  # the closed connection was not pooled
            assert resp.status == 200
            resp.close()
            assert server.connections == 2

    run(main())


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_bodies_are_decoded(encoding):
    text = b'{"choices":[' + b'{"x":"' + b"y" * 5000 + b'"}]}'
    packed = gzip.compress(text) if encoding == "gzip" else zlib.compress(text)

    async def handler(reader, writer, n):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nTransfer-Encoding: chunked\r\n\r\n" % encoding.encode())
        for i in range(0, len(packed), 7):
            writer.write(chunk(packed[i:i + 7]))
        writer.write(b"0\r\n\r\n")

    async def main():
        async with Scripted(handler) as server:
            resp = await post(server.url())
            assert await resp.read() == text
            resp.release()

    run(main())


def test_an_interim_answer_is_skipped():
    async def handler(reader, writer, n):
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")

    async def main():
        async with Scripted(handler) as server:
            resp = await post(server.url())
            assert (resp.status, await resp.read()) == (201, b"ok")
            resp.release()

    run(main())


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

    run(main())


def test_read_timeout_before_the_head_and_between_chunks():
    async def handler(reader, writer, n):
        if n == 1:
            await asyncio.sleep(1)  # no answer at all
            return
        writer.write(SSE_HEAD + chunk(b'data: {"n":0}\n\n'))
        await writer.drain()
        await asyncio.sleep(1)  # then silence

    async def main():
        async with Scripted(handler) as server:
            short = http.Timeouts(connect=5, read=0.2)
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(h1.ReadTimeout):
                await post(server.url(), timeout=short)
            assert 0.15 < loop.time() - started < 0.9
            resp = await post(server.url(), timeout=short)
            assert await resp.readany() == b'data: {"n":0}\n\n'
            started = loop.time()
            with pytest.raises(h1.ReadTimeout):
                await resp.readany()
            assert 0.15 < loop.time() - started < 0.9
            resp.close()

    run(main())


def test_steady_data_never_times_out_however_long_the_answer():
    async def handler(reader, writer, n):
        writer.write(SSE_HEAD)
        for i in range(12):  # 0.6 s in all, a chunk every 50 ms; the read timeout is 0.2 s
            writer.write(chunk(b'data: {"n":%d}\n\n' % i))
            await writer.drain()
            await asyncio.sleep(0.05)
        writer.write(b"0\r\n\r\n")

    async def main():
        async with Scripted(handler) as server:
            resp = await post(server.url(), timeout=http.Timeouts(connect=5, read=0.2))
            body = await resp.read()
            assert body.count(b"data:") == 12
            resp.release()

    run(main())


def test_a_connection_lost_mid_body_is_a_disconnect():
    async def handler(reader, writer, n):
        writer.write(SSE_HEAD + chunk(b'data: {"n":0}\n\n'))
        await writer.drain()
        writer.transport.abort()

    async def main():
        async with Scripted(handler) as server:
            resp = await post(server.url())
            assert await resp.readany() == b'data: {"n":0}\n\n'
            with pytest.raises(h1.Disconnected):
                await resp.readany()
            resp.close()

    run(main())


def test_a_released_answer_waits_for_its_last_chunk_then_is_reused():
    async def handler(reader, writer, n):
        writer.write(SSE_HEAD + chunk(b"data: [DONE]\n\n"))
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"0\r\n\r\n")  # the end of the body comes a little later

    async def main():
        async with Scripted(handler) as server:
            for _ in range(2):
                resp = await post(server.url())
                assert await resp.readany() == b"data: [DONE]\n\n"
                resp.release()  # the consumer has all it needs
                await asyncio.sleep(0.1)
            assert server.connections == 1

    run(main())


def test_a_slow_reader_gets_a_large_body_whole():
    blob = bytes(range(256)) * 16 * 1024  # 4 MiB

    async def handler(reader, writer, n):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(blob))
        writer.write(blob)

    async def main():
        async with Scripted(handler) as server:
            resp = await post(server.url())
            got = []
            largest = 0
            while piece := await resp.readany():
                got.append(piece)
                largest = max(largest, len(piece))
                await asyncio.sleep(0.002)
            assert b"".join(got) == blob
            # Reading paused at the high-water mark: no read returned much more than it.
            assert largest <= h1.HIGH_WATER + 256 * 1024  # plus at most one socket read
            resp.release()

    run(main())


def test_header_values_with_line_breaks_are_refused_before_anything_is_sent():  # and others go as UTF-8
    async def handler(reader, writer, n):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    async def main():
        async with Scripted(handler) as server:
            with pytest.raises(h1.InvalidRequest):
                await post(server.url(), headers={"X-Evil": "a\r\nInjected: yes"})
            assert server.heads == []
            resp = await post(server.url(), headers={"X-Name": "Nguyễn"})  # non-ASCII goes as UTF-8 octets
            resp.release()
            assert "X-Name: Nguyễn\r\n".encode() in server.heads[0]

    run(main())


def test_redirects_are_followed_only_on_the_same_origin():
    assert http.join_url("http://a.test:8000/v1/models", "/v2/models") == "http://a.test:8000/v2/models"
    assert http.join_url("http://a.test:8000/v1/models", "http://b.test:8000/v1/models") is None
    assert http.join_url("http://a.test/v1/models", "https://a.test/v1/models") is None
    assert http.join_url("http://a.test/v1/models", "ftp://a.test/models") is None


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
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nproxied")
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
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
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
            with pytest.raises(h1.ConnectError):
                await post(url, cfg=config("http://upstream.test:8080/v1", direct=True))

    run(main())


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
            with pytest.raises(h1.TLSCertificateError):  # not trusted without the CA bundle
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

    run(main())


def test_a_dead_proxy_is_a_proxy_error(proxy_env):
    async def main():
        async with Proxy() as proxy:
            url = proxy.url
        proxy_env(url)  # closed: nothing listens there any more
        with pytest.raises(h1.ProxyError):
            await post("http://upstream.test/v1/chat/completions", cfg=config("http://upstream.test/v1"))

    run(main())


def test_models_lookup_follows_same_origin_redirects_and_never_sends_credentials_elsewhere():
    from providers.adapters.http_common import get_json

    async def other(reader, writer, n):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"data\":[]}")

    async def main():
        async with Scripted(other) as elsewhere:
            async def handler(reader, writer, n):
                if n == 1:  # moved, on the same server
                    writer.write(b"HTTP/1.1 308 Permanent Redirect\r\nLocation: /v2/models\r\nContent-Length: 0\r\n\r\n")
                elif n == 2:  # then off to another origin
                    location = elsewhere.url("/v1/models").encode()
                    writer.write(b"HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % location)

            async with Scripted(handler) as server:
                cfg = config(server.url("/v1"))
                status, body = await get_json(cfg, server.url("/v1/models"), headers={"Authorization": "Bearer sk-x"})
                assert (status, body) == (302, None)  # the cross-origin answer is reported, not followed
                assert [h.split(b" ")[1] for h in server.heads] == [b"/v1/models", b"/v2/models"]
                assert elsewhere.heads == []  # the key never went to the other origin

    run(main())
