"""Upstream HTTP for the adapters: connection pools, connecting, and ``request()``.

The wire is ``providers.h1`` (a raw asyncio HTTP/1.1 client; why not a client
library: see its docstring and docs/benchmark.md). This module connects: DNS
(cached briefly), the base URL policy on every address about to be connected to
(``providers.url_policy``), the environment's HTTP(S) proxy unless the provider
is ``direct`` (resolved once per base URL and proxy environment; ``https`` through
a ``CONNECT`` tunnel), TLS with the provider's ``verify_tls``/``ca_bundle``.

Keep-alive connections are pooled per (event loop, TLS/proxy options, origin).
A pooled connection the upstream closed while it sat idle is noticed and
replaced: if a reused connection fails before any byte of the answer arrived,
the request is sent once more on a fresh connection (the upstream never read it).

Pools are closed when their event loop shuts down: ``asyncio.run`` (and uvicorn,
which runs its loop the same way) finalises every async generator of the loop
before closing it, so one small guard generator per loop closes the pools then,
with or without ASGI lifespan support. ``close_all()`` does it explicitly.
"""
from __future__ import annotations

import asyncio
import base64
import ipaddress
import os
import socket
import ssl
import urllib.request
import weakref
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from . import h1, url_policy
from .adapters.base import ProviderConfig

KEEPALIVE_SECONDS = 30.0
MAX_IDLE_PER_ORIGIN = 1024
DNS_TTL_SECONDS = 10.0


@dataclass(frozen=True)
class Timeouts:
    """``connect``: to open a connection (DNS, TCP, proxy tunnel, TLS); ``read``: the
    longest wait for the next data of an answer (its head included); ``None``: no limit."""

    connect: float | None
    read: float | None


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    authorization: str | None  # the Proxy-Authorization value, from the proxy URL's user info

    def __repr__(self) -> str:  # never print the credentials
        return f"Proxy({self.host}:{self.port})"


# (verify TLS, CA bundle, direct, proxy)
Options = tuple[bool, "str | None", bool, "Proxy | None"]
Origin = tuple[str, str, int]  # scheme, host, port


# The environment's proxy -------------------------------------------------------------

_PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY")
_env_proxies: dict[tuple[Any, ...], Proxy | None] = {}
# os.environ.get() raises and catches a KeyError inside for every unset name; on
# the hot path read the dict behind os.environ (kept in step by os.environ itself).
_environ_data: dict[Any, Any] | None = getattr(os.environ, "_data", None)
_encodekey = getattr(os.environ, "encodekey", None)
_PROXY_KEYS = tuple(_encodekey(n) for n in _PROXY_VARS) if _environ_data is not None and _encodekey else ()


def _proxy_environment() -> tuple[Any, ...]:
    if _PROXY_KEYS:
        return tuple(map(_environ_data.get, _PROXY_KEYS))  # type: ignore[union-attr]
    return tuple(os.environ.get(name) for name in _PROXY_VARS)


def parse_proxy(url: str) -> Proxy:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme != "http" or not parts.hostname:
        raise h1.ProxyError("only http:// proxies are supported")
    authorization = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization = "Basic " + base64.b64encode(credentials).decode("ascii")
    return Proxy(parts.hostname, parts.port or 80, authorization)


def env_proxy(url: str) -> Proxy | None:
    """The proxy ``HTTP(S)_PROXY``/``NO_PROXY`` choose for ``url`` (None: connect directly)."""
    key = (url, *_proxy_environment())
    if key in _env_proxies:
        return _env_proxies[key]
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    chosen = proxies.get(parts.scheme)
    if chosen and parts.hostname and urllib.request.proxy_bypass_environment(parts.hostname, proxies):
        chosen = None
    hit = parse_proxy(chosen) if chosen else None
    if len(_env_proxies) > 1024:
        _env_proxies.clear()
    _env_proxies[key] = hit
    return hit


def session_options(config: ProviderConfig) -> Options:
    """The part of a provider's settings that needs a pool of its own."""
    direct = bool(config.setting("direct", False))
    proxy = None if direct or not config.base_url else env_proxy(config.base_url)
    return (bool(config.setting("verify_tls", True)), config.setting("ca_bundle") or None, direct, proxy)


# DNS and the base URL policy ------------------------------------------------------------

_dns: dict[tuple[str, int], tuple[float, list[tuple[int, str]]]] = {}


async def resolve(host: str, port: int) -> list[tuple[int, str]]:
    """[(address family, address)] for ``host``; the seam tests replace to fake DNS."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[tuple[int, str]] = []
    for family, _type, _proto, _name, sockaddr in infos:
        entry = (int(family), str(sockaddr[0]))
        if entry not in seen:
            seen.append(entry)
    return seen


async def _addresses(host: str, port: int) -> list[tuple[int, str]]:
    """Where to connect for ``host``, every address checked against the base URL policy."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        found = [(socket.AF_INET6 if literal.version == 6 else socket.AF_INET, str(literal))]
    else:
        loop = asyncio.get_running_loop()
        cached = _dns.get((host, port))
        if cached is not None and cached[0] > loop.time():
            found = cached[1]
        else:
            try:
                found = await resolve(host, port)
            except OSError as exc:
                raise h1.ConnectError(f"cannot resolve {host}", exc) from None
            if len(_dns) > 1024:
                _dns.clear()
            _dns[(host, port)] = (loop.time() + DNS_TTL_SECONDS, found)
    # Checked on every use, cached or not: the policy may have changed since.
    url_policy.check_resolved(host, [address for _family, address in found])
    return found


# Pools -------------------------------------------------------------------------------------


def _ssl_context(verify: bool, ca_bundle: str | None) -> ssl.SSLContext:
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()


class Pool:
    """Keep-alive connections of one set of TLS/proxy options, per origin."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.idle: dict[Origin, list[h1.Connection]] = {}
        self.closed = False
        self._ssl: ssl.SSLContext | None = None

    @property
    def ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = _ssl_context(self.options[0], self.options[1])
        return self._ssl

    def take_idle(self, origin: Origin, now: float) -> h1.Connection | None:
        stack = self.idle.get(origin)
        while stack:
            conn = stack.pop()
            if conn.reusable() and now - conn.idle_since < KEEPALIVE_SECONDS:
                return conn
            conn.close()
        return None

    def put(self, conn: h1.Connection, reusable: bool) -> None:
        if not reusable or self.closed:
            if not conn.closed:
                conn.close()
            return
        conn.idle_since = conn.loop.time()
        stack = self.idle.setdefault(conn.key, [])
        # The oldest sit at the bottom: drop those that expired or that the upstream closed.
        while stack and (stack[0].closed or conn.idle_since - stack[0].idle_since >= KEEPALIVE_SECONDS):
            stack.pop(0).close()
        if len(stack) >= MAX_IDLE_PER_ORIGIN:
            conn.close()
            return
        stack.append(conn)

    async def connect(self, origin: Origin, timeout: float | None) -> h1.Connection:
        try:
            async with asyncio.timeout(timeout):
                return await self._connect(origin)
        except TimeoutError as exc:
            if isinstance(exc, h1.H1Error):
                raise
            raise h1.ConnectTimeout("connecting to the upstream timed out") from None

    async def _connect(self, origin: Origin) -> h1.Connection:
        scheme, host, port = origin
        proxy = self.options[3]
        loop = asyncio.get_running_loop()
        target_host, target_port = (proxy.host, proxy.port) if proxy else (host, port)
        tls_here = scheme == "https" and proxy is None
        last: OSError | None = None
        try:
            addresses = await _addresses(target_host, target_port)
        except url_policy.UpstreamAddressRefused as exc:
            error = h1.ProxyError if proxy is not None else h1.ConnectError
            raise error("refused by the base URL policy", exc) from None
        for _family, address in addresses:
            try:
                _transport, conn = await loop.create_connection(
                    lambda: h1.Connection(loop, origin), address, target_port,
                    ssl=self.ssl_context if tls_here else None,
                    server_hostname=host if tls_here else None,
                )
                break
            except ssl.SSLCertVerificationError as exc:
                raise h1.TLSCertificateError("certificate verification failed", exc) from None
            except ssl.SSLError as exc:
                raise h1.TLSError("TLS handshake failed", exc) from None
            except OSError as exc:
                last = exc
        else:
            if proxy is not None:
                raise h1.ProxyError("cannot connect to the proxy", last)
            raise h1.ConnectError("cannot connect to the upstream", last)
        conn.key = origin
        if proxy is not None and scheme == "https":
            await self._tunnel(conn, proxy, host, port)
        return conn

    async def _tunnel(self, conn: h1.Connection, proxy: Proxy, host: str, port: int) -> None:
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        headers = {"Proxy-Authorization": proxy.authorization} if proxy.authorization else {}
        response = conn.exchange(h1.encode_request("CONNECT", authority, authority, headers, None), None)
        try:
            await response.wait_head()
        except h1.H1Error as exc:
            conn.abort()
            raise h1.ProxyError("the proxy closed the tunnel", exc) from None
        # Detach the CONNECT answer: from here on the bytes are the tunnel's.
        response._stop_timer()
        conn.response = None
        conn._parser = None
        if response.status != 200:
            conn.abort()
            raise h1.ProxyError(f"the proxy refused the tunnel (HTTP {response.status})")
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(conn.transport, conn, self.ssl_context, server_hostname=host)  # type: ignore[arg-type]
        except ssl.SSLCertVerificationError as exc:
            conn.abort()
            raise h1.TLSCertificateError("certificate verification failed", exc) from None
        except (ssl.SSLError, OSError) as exc:
            conn.abort()
            raise h1.TLSError("TLS handshake failed", exc) from None
        conn.transport = transport  # type: ignore[assignment]

    def close(self) -> None:
        self.closed = True
        idle, self.idle = self.idle, {}
        for stack in idle.values():
            for conn in stack:
                conn.close()


class _LoopPools:
    __slots__ = ("pools", "guard", "__weakref__")

    def __init__(self) -> None:
        self.pools: dict[Options, Pool] = {}
        self.guard: Any = None


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPools] = weakref.WeakKeyDictionary()


async def _close_at_loop_shutdown(state: _LoopPools) -> AsyncIterator[None]:
    try:
        yield
    finally:
        _close_pools(state)


def _close_pools(state: _LoopPools) -> None:
    pools, state.pools = list(state.pools.values()), {}
    for pool in pools:
        pool.close()


def _loop_state(loop: asyncio.AbstractEventLoop) -> _LoopPools:
    state = _by_loop.get(loop)
    if state is None:
        state = _LoopPools()
        _by_loop[loop] = state
        # Start the guard generator (first iteration registers it with the running
        # loop's async-generator hooks); the loop closes it at shutdown.
        guard = _close_at_loop_shutdown(state)
        try:
            guard.asend(None).send(None)
        except StopIteration:
            pass
        state.guard = guard
    return state


def pool_for(config: ProviderConfig) -> Pool:
    options = session_options(config)
    state = _loop_state(asyncio.get_running_loop())
    pool = state.pools.get(options)
    if pool is None or pool.closed:
        pool = Pool(options)
        state.pools[options] = pool
    return pool


def timeouts_for(config: ProviderConfig, *, default_connect: float, default_read: float | None) -> Timeouts:
    """The provider's ``connect_timeout``/``read_timeout`` settings, else the defaults given."""
    read = config.setting("read_timeout", default_read)
    return Timeouts(connect=float(config.setting("connect_timeout", default_connect)),
                    read=float(read) if read is not None else None)


async def close_all() -> None:
    """Close this loop's pooled connections (e.g. from an ASGI lifespan shutdown)."""
    state = _by_loop.get(asyncio.get_running_loop())
    if state is not None:
        _close_pools(state)


# Requests -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    origin: Origin
    authority: str  # the Host header
    path: str  # origin-form: path and query
    absolute: str  # absolute-form, for a plain-HTTP proxy


_targets: dict[str, _Target] = {}


def _target(url: str) -> _Target:
    hit = _targets.get(url)
    if hit is None:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise h1.ConnectError(f"unsupported URL scheme {scheme!r}")
        default = 443 if scheme == "https" else 80
        port = parts.port or default
        host = parts.hostname
        shown = f"[{host}]" if ":" in host else host
        authority = shown if port == default else f"{shown}:{port}"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        hit = _Target((scheme, host, port), authority, path, f"{scheme}://{authority}{path}")
        if len(_targets) > 4096:
            _targets.clear()
        _targets[url] = hit
    return hit


def join_url(base: str, location: str) -> str | None:
    """Where a redirect from ``base`` to ``location`` points, if it stays on the same
    origin (credentials in the request headers must never follow to another host);
    None otherwise."""
    joined = urljoin(base, location)
    try:
        same = _target(joined).origin == _target(base).origin
    except h1.ConnectError:  # not http(s)
        return None
    return joined if same else None


async def request(config: ProviderConfig, method: str, url: str, *, headers: Mapping[str, str],
                  body: bytes | None = None, timeout: Timeouts) -> h1.Response:
    """Send a request; return the ``Response`` once its status and headers arrived.
    The caller reads the body and must ``release()`` or ``close()`` it. Raises
    ``h1.H1Error`` subclasses (connect, TLS, proxy, timeout, disconnect)."""
    pool = pool_for(config)
    target = _target(url)
    proxy = pool.options[3]
    if proxy is not None and target.origin[0] == "http":
        # A plain-HTTP upstream through a proxy: absolute-form, credentials in the request.
        path = target.absolute
        if proxy.authorization:
            headers = {**headers, "Proxy-Authorization": proxy.authorization}
    else:
        path = target.path
    try:
        data = h1.encode_request(method, path, target.authority, headers, body)
    except ValueError:
        raise h1.InvalidRequest("a request header cannot be sent (invalid characters)") from None
    loop = asyncio.get_running_loop()
    conn = pool.take_idle(target.origin, loop.time())
    fresh = conn is None
    for _attempt in range(2):
        if conn is None:
            conn = await pool.connect(target.origin, timeout.connect)
        response = conn.exchange(data, timeout.read)
        response._on_release = pool.put
        try:
            await response.wait_head()
            return response
        except h1.Disconnected:
            response.close()
            if fresh or response.received_any:
                raise
            # An idle connection the upstream had closed: it never read this request.
            conn, fresh = None, True
        except BaseException:
            response.close()
            raise
    raise AssertionError("unreachable")
