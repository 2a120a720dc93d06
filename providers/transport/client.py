"""The one upstream HTTP client: every call to a backend goes through ``request()``
(chat, streams, ``/models``, the connection test, the capability probe).

Built on aiohttp. One ``ClientSession`` (and connector) per provider and
TLS/proxy options per event loop, so keep-alive connections are pooled per
provider and capped per provider (``max_connections``). What this module adds to
the library, and why:

- the base URL policy on every address about to be connected to (``PolicyConnector``);
- the environment's ``HTTP(S)_PROXY``/``NO_PROXY`` resolved once per base URL
  (aiohttp's ``trust_env`` looks it up in a worker thread on every request), none
  for a ``direct`` provider; ``https`` goes through a ``CONNECT`` tunnel;
- bounds against a hostile or broken backend: the head's size (line length, field
  size, header count: aiohttp's parser options) and a deadline for the whole head
  with interim answers counted (not an idle timer that every byte resets), a time
  to the first byte of the body, an idle timeout between chunks, and a cap on a
  body as received and as decoded (``decode.py``: the session does not decompress);
- no cookies kept between requests (a gateway relays for many clients);
- redirects are never followed here (the callers decide: a chat POST never is).

aiohttp resends a request on a reused keep-alive connection the upstream closed
only for idempotent methods (``IDEMPOTENT_METHODS`` in ``aiohttp/client.py``), so a
chat ``POST`` is sent once; ``tests/hardening/test_upstream_post_sent_once.py``.

Sessions are closed when their event loop shuts down: ``asyncio.run`` (and
uvicorn) finalise every async generator of the loop before closing it, so one
small guard generator per loop closes the sessions then; ``close_all()`` does it
explicitly.
"""
from __future__ import annotations

import asyncio
import os
import socket
import ssl
import weakref
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import ResolveResult
from aiohttp.helpers import get_env_proxy_for_url
from django.conf import settings
from yarl import URL

from .. import url_policy
from ..provider_config import ProviderConfig
from . import errors
from .decode import STEP, Decoder, decoder_for
from .headers import allowed_extra_headers

__all__ = ["Response", "Timeouts", "allowed_extra_headers", "close_all", "request", "timeouts_for"]

KEEPALIVE_SECONDS = 30.0
DNS_TTL_SECONDS = 10.0
ERROR_BODY_LIMIT = 64 * 1024


@dataclass(frozen=True, slots=True)
class Timeouts:
    """``connect``: to open a connection (DNS, TCP, proxy tunnel, TLS).
    ``first_byte``: from the request's start (connecting included) to its whole
    head (interim answers included) and to the first byte of its body.
    ``idle``: the longest silence between two chunks of the body after that.
    ``None``: no limit."""

    connect: float | None
    first_byte: float | None
    idle: float | None


def _number(value: Any, default: float | None) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def timeouts_for(config: ProviderConfig) -> Timeouts:
    """A provider's timeouts: its ``connect_timeout``, ``first_byte_timeout`` and
    ``idle_read_timeout`` settings (``read_timeout``, the older single setting, stands
    for both when they are not set), else the gateway's defaults."""
    read = _number(config.setting("read_timeout"), None)
    return Timeouts(
        connect=_number(config.setting("connect_timeout"), settings.GATEWAY_CONNECT_TIMEOUT),
        first_byte=_number(config.setting("first_byte_timeout"), read or settings.GATEWAY_UPSTREAM_FIRST_BYTE_TIMEOUT),
        idle=_number(config.setting("idle_read_timeout"), read or settings.GATEWAY_UPSTREAM_IDLE_TIMEOUT),
    )


# The environment's proxy -------------------------------------------------------------

_PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
               "no_proxy", "NO_PROXY")
_env_proxies: dict[tuple[Any, ...], tuple[str | None, aiohttp.BasicAuth | None]] = {}
# os.environ.get() raises and catches a KeyError inside for every unset name; on
# the hot path read the dict behind os.environ (kept in step by os.environ itself).
_environ_data: dict[Any, Any] | None = getattr(os.environ, "_data", None)
_encodekey = getattr(os.environ, "encodekey", None)
_PROXY_KEYS = tuple(_encodekey(n) for n in _PROXY_VARS) if _environ_data is not None and _encodekey else ()


def _proxy_environment() -> tuple[Any, ...]:
    if _PROXY_KEYS:
        return tuple(map(_environ_data.get, _PROXY_KEYS))  # type: ignore[union-attr]
    return tuple(os.environ.get(name) for name in _PROXY_VARS)


def env_proxy(url: str) -> tuple[str | None, aiohttp.BasicAuth | None]:
    """The proxy ``HTTP(S)_PROXY``/``NO_PROXY`` choose for ``url`` (None: connect directly)."""
    key = (url, *_proxy_environment())
    hit = _env_proxies.get(key)
    if hit is None:
        try:
            proxy, auth = get_env_proxy_for_url(URL(url))
            hit = (str(proxy), auth)
        except LookupError:
            hit = (None, None)
        if len(_env_proxies) > 1024:
            _env_proxies.clear()
        _env_proxies[key] = hit
    return hit


# DNS and the base URL policy ------------------------------------------------------------

_dns: dict[tuple[str, int, int], tuple[float, list[ResolveResult]]] = {}


async def resolve(host: str, port: int, family: int = socket.AF_UNSPEC) -> list[ResolveResult]:
    """Where ``host`` points; the seam tests replace to fake DNS."""
    return await aiohttp.ThreadedResolver().resolve(host, port, socket.AddressFamily(family))


class PolicyResolver(aiohttp.abc.AbstractResolver):
    """Resolves (cached ``DNS_TTL_SECONDS``); the connector checks the answer."""

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        key = (host, port, int(family))
        cached = _dns.get(key)
        if cached is not None and cached[0] > loop.time():
            return cached[1]
        found = await resolve(host, port, family)
        if len(_dns) > 1024:
            _dns.clear()
        _dns[key] = (loop.time() + DNS_TTL_SECONDS, found)
        return found

    async def close(self) -> None:
        return None


class PolicyConnector(aiohttp.TCPConnector):
    """Applies the base URL policy to every address about to be connected to, names
    and literal addresses alike, cached or not (the policy may have changed since).
    Behind a proxy the gateway connects only to the proxy: its address is checked."""

    async def _resolve_host(
        self, host: str, port: int, traces: Any = None
    ) -> list[ResolveResult]:
        results = await super()._resolve_host(host, port, traces=traces)
        url_policy.check_resolved(host, [str(r["host"]) for r in results])
        return results


# Sessions --------------------------------------------------------------------------------

# (provider id, provider name, verify TLS, CA bundle, direct, proxy URL, proxy auth, connection cap)
SessionKey = tuple[Any, str, bool, "str | None", bool, "str | None", "aiohttp.BasicAuth | None", int]


def session_key(config: ProviderConfig) -> SessionKey:
    """What needs a session of its own: the provider (its connection cap is its own)
    and its TLS/proxy options."""
    direct = bool(config.setting("direct", False))
    proxy, proxy_auth = (None, None) if direct or not config.base_url else env_proxy(config.base_url)
    cap = config.setting("max_connections")
    return (config.id, config.name, bool(config.setting("verify_tls", True)), config.setting("ca_bundle") or None,
            direct, proxy, proxy_auth, int(cap) if cap else settings.GATEWAY_UPSTREAM_MAX_CONNECTIONS)


def _ssl_context(verify: bool, ca_bundle: str | None) -> ssl.SSLContext | bool:
    if not verify:
        return False
    if ca_bundle:
        return ssl.create_default_context(cafile=ca_bundle)
    return True


def new_session(key: SessionKey) -> aiohttp.ClientSession:
    """A fresh session for these options (the caller closes it)."""
    _id, _name, verify, ca_bundle, _direct, proxy, _proxy_auth, cap = key
    connector = PolicyConnector(
        limit=cap, limit_per_host=0, resolver=PolicyResolver(), use_dns_cache=False,
        ssl=_ssl_context(verify, ca_bundle), keepalive_timeout=KEEPALIVE_SECONDS,
    )
    return aiohttp.ClientSession(
        connector=connector,
        trust_env=False,  # the proxy is resolved by session_key (none in direct mode)
        proxy=proxy,  # its credentials go with each request (proxy_headers)
        auto_decompress=False,  # decode.py decodes, bounded
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent", "Accept-Encoding"),
        max_line_size=settings.GATEWAY_UPSTREAM_MAX_HEADER_BYTES,
        max_field_size=settings.GATEWAY_UPSTREAM_MAX_HEADER_BYTES,
        max_headers=settings.GATEWAY_UPSTREAM_MAX_HEADERS,
        timeout=aiohttp.ClientTimeout(total=None),
    )


class _LoopSessions:
    __slots__ = ("__weakref__", "guard", "sessions")

    def __init__(self) -> None:
        self.sessions: dict[SessionKey, aiohttp.ClientSession] = {}
        self.guard: Any = None


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSessions] = weakref.WeakKeyDictionary()


async def _close_at_loop_shutdown(state: _LoopSessions) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await _close_sessions(state)


async def _close_sessions(state: _LoopSessions) -> None:
    sessions, state.sessions = list(state.sessions.values()), {}
    for session in sessions:
        if not session.closed:
            await session.close()


def _loop_state(loop: asyncio.AbstractEventLoop) -> _LoopSessions:
    state = _by_loop.get(loop)
    if state is None:
        state = _LoopSessions()
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


def _session(config: ProviderConfig) -> tuple[aiohttp.ClientSession, dict[str, str] | None]:
    """The provider's session, and the proxy's credentials to send with each request."""
    key = session_key(config)
    state = _loop_state(asyncio.get_running_loop())
    session = state.sessions.get(key)
    if session is None or session.closed:
        session = new_session(key)
        state.sessions[key] = session
    auth = key[6]
    return session, ({"Proxy-Authorization": auth.encode()} if auth is not None else None)


def session_for(config: ProviderConfig) -> aiohttp.ClientSession:
    return _session(config)[0]


async def close_all() -> None:
    """Close this loop's sessions (e.g. from an ASGI lifespan shutdown)."""
    state = _by_loop.get(asyncio.get_running_loop())
    if state is not None:
        await _close_sessions(state)


# Requests -----------------------------------------------------------------------------------


def same_origin(base: str, location: str) -> str | None:
    """Where a redirect from ``base`` to ``location`` points, if it stays on the same
    origin (credentials in the request headers must never follow to another host);
    None otherwise."""
    joined = urljoin(base, location)

    def origin(url: str) -> tuple[str, str | None, int | None] | None:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            return None
        return scheme, parts.hostname, parts.port or (443 if scheme == "https" else 80)

    first = origin(base)
    return joined if first is not None and origin(joined) == first else None


def _translate(exc: BaseException) -> errors.TransportError:
    """aiohttp's exception as one of ``errors``; the original stays the cause."""
    if isinstance(exc, errors.TransportError):
        return exc
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return errors.TLSCertificateError("certificate verification failed", exc.certificate_error)
    if isinstance(exc, (aiohttp.ClientConnectorSSLError, aiohttp.ClientSSLError, ssl.SSLError)):
        return errors.TLSError("TLS handshake failed", exc)
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return errors.ProxyError(f"the proxy refused the tunnel (HTTP {exc.status})")
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return errors.ProxyError("cannot connect to the proxy", exc.os_error)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return errors.ConnectTimeout("connecting to the upstream timed out")
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, url_policy.UpstreamAddressRefused):
            return errors.ConnectError("refused by the base URL policy", exc.os_error)
        return errors.ConnectError("cannot connect to the upstream", exc.os_error)
    if isinstance(exc, (aiohttp.ServerTimeoutError, TimeoutError)):
        return errors.ReadTimeout("idle")
    if isinstance(exc, aiohttp.ClientResponseError):  # the head could not be parsed
        text = str(exc.message)
        if "Got more than" in text or "Too many headers" in text:
            return errors.LimitExceeded("head", settings.GATEWAY_UPSTREAM_MAX_HEADER_BYTES)
        return errors.ProtocolError(f"invalid answer head: {text[:200]}")
    if isinstance(exc, aiohttp.ClientPayloadError):  # the body stopped short of its framing
        return errors.Disconnected("the answer's body ended early")
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, ConnectionError, OSError)):
        return errors.Disconnected("the upstream closed the connection")
    if isinstance(exc, (aiohttp.InvalidURL, ValueError)):
        return errors.InvalidRequest("the request cannot be sent (invalid URL or header)")
    if isinstance(exc, aiohttp.ClientError):
        return errors.ProtocolError(type(exc).__name__)
    return errors.TransportError(type(exc).__name__)


class Response:
    """An upstream answer whose head arrived. Read it with ``readany``/``iter_any``
    (streams) or ``read`` (whole, capped), then ``release()`` it (connection back to
    the pool) or ``close()`` it (connection dropped: the upstream stops)."""

    __slots__ = (
        "_content",
        "_deadline",
        "_decoder",
        "_first",
        "_idle",
        "_idle_seen",
        "_idle_since",
        "_idle_timer",
        "_reading",
        "_resp",
        "headers",
        "status",
    )

    def __init__(self, resp: aiohttp.ClientResponse, deadline: float | None, idle: float | None,
                 decoder: Decoder | None) -> None:
        self.status = resp.status
        self.headers = resp.headers
        self._resp = resp
        self._content = resp.content
        self._decoder = decoder
        self._deadline = deadline
        self._idle = idle
        self._first = True
        self._idle_timer: asyncio.TimerHandle | None = None
        self._idle_seen = 0
        self._idle_since = 0.0
        self._reading = False

    async def _raw(self) -> bytes:
        try:
            if self._first:
                return await self._first_read()
            self._reading = True
            try:
                return await self._content.readany()
            finally:
                self._reading = False
        except errors.TransportError:
            raise
        except Exception as exc:
            raise _translate(exc) from exc

    async def _first_read(self) -> bytes:
        self._first = False
        try:
            async with asyncio.timeout_at(self._deadline):
                data = await self._content.readany()
        except TimeoutError as exc:
            if isinstance(exc, aiohttp.ServerTimeoutError):
                raise
            raise errors.ReadTimeout("first_byte") from None
        if self._idle and data and not self._content.is_eof():
            self._watch_idle(self._content.total_bytes)
        return data

    # The idle timeout. aiohttp's own (sock_read) cancels and re-creates a timer for
    # every piece of data, the largest per-chunk cost it adds to a relayed stream;
    # instead one timer per answer looks, every quarter of the timeout, whether bytes
    # came since it last looked: a silence is found within 1.25 times the timeout.

    def _watch_idle(self, seen: int) -> None:
        assert self._idle is not None
        loop = asyncio.get_running_loop()
        self._idle_seen = seen
        self._idle_since = loop.time()
        self._idle_timer = loop.call_later(self._idle / 4, self._check_idle)

    def _check_idle(self) -> None:
        content = self._content
        if content.is_eof() or content.exception() is not None:
            self._idle_timer = None
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if content.total_bytes != self._idle_seen or not self._reading:
            # Bytes came, or the gateway is not waiting for any (its own client is
            # slow, so the upstream may be held back by flow control): not idle.
            self._idle_seen, self._idle_since = content.total_bytes, now
        elif now - self._idle_since >= self._idle:  # type: ignore[operator]
            self._idle_timer = None
            content.set_exception(errors.ReadTimeout("idle"))
            return
        self._idle_timer = loop.call_later(self._idle / 4, self._check_idle)  # type: ignore[operator]

    def _stop_idle(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    async def readany(self) -> bytes:
        """The next decoded bytes; ``b""`` at the end."""
        decoder = self._decoder
        if decoder is None:
            return await self._raw()
        while True:
            if decoder.pending:
                out = decoder.decode(b"")
            else:
                data = await self._raw()
                if not data:
                    decoder.finish()
                    return b""
                out = decoder.decode(data)
            if out:
                return out

    async def iter_any(self) -> AsyncGenerator[bytes, None]:
        while chunk := await self.readany():
            yield chunk

    async def read(self, limit: int | None = None) -> bytes:
        """The whole body, decoded. Over ``limit`` bytes (as received or decoded;
        default ``GATEWAY_UPSTREAM_MAX_BODY_BYTES``): ``LimitExceeded``."""
        cap = limit or settings.GATEWAY_UPSTREAM_MAX_BODY_BYTES
        declared = self._resp.content_length
        if declared is not None and declared > cap:
            raise errors.LimitExceeded("body", cap)
        parts: list[bytes] = []
        raw_total = total = 0
        decoder = self._decoder
        while True:
            if decoder is not None and decoder.pending:
                # A small body may inflate a lot: decode in steps, letting other
                # streams of this worker run between them.
                await asyncio.sleep(0)
                out = decoder.decode(b"", min(STEP, cap - total + 1))
            else:
                data = await self._raw()
                if not data:
                    if decoder is not None:
                        decoder.finish()
                    break
                raw_total += len(data)
                if raw_total > cap:
                    raise errors.LimitExceeded("body", cap)
                out = decoder.decode(data, min(STEP, cap - total + 1)) if decoder is not None else data
            total += len(out)
            if total > cap:
                raise errors.LimitExceeded("decoded_body", cap)
            if out:
                parts.append(out)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def release(self) -> None:
        self._stop_idle()
        self._resp.release()

    def close(self) -> None:
        self._stop_idle()
        self._resp.close()


_client_timeouts: dict[float | None, aiohttp.ClientTimeout] = {}


async def request(config: ProviderConfig, method: str, url: str, *, headers: Mapping[str, str],
                  body: bytes | None = None, timeout: Timeouts) -> Response:
    """Send a request; return the ``Response`` once its head arrived (redirects are
    not followed). Raises an ``errors.TransportError``."""
    session, proxy_headers = _session(config)
    if proxy_headers is not None and not url.startswith("https:"):
        # Plain HTTP through a proxy: the request itself (absolute-form) carries the
        # proxy's credentials; aiohttp sends proxy_headers only with a CONNECT.
        headers = {**headers, **proxy_headers}
        proxy_headers = None
    loop = asyncio.get_running_loop()
    deadline = None
    if timeout.first_byte is not None:
        deadline = loop.time() + timeout.first_byte
    client_timeout = _client_timeouts.get(timeout.connect)
    if client_timeout is None:
        # Only the connect phase is aiohttp's to time; the rest is ours (see Timeouts).
        client_timeout = aiohttp.ClientTimeout(total=None, connect=None, sock_connect=timeout.connect, sock_read=None)
        _client_timeouts[timeout.connect] = client_timeout
    try:
        async with asyncio.timeout_at(deadline) as scope:
            resp = await session.request(method, url, data=body, headers=headers, allow_redirects=False,
                                         timeout=client_timeout, proxy_headers=proxy_headers)
    except TimeoutError as exc:
        if scope.expired():
            raise errors.ReadTimeout("head") from None
        raise _translate(exc) from exc
    except errors.TransportError:
        raise
    except Exception as exc:
        raise _translate(exc) from exc
    try:
        decoder = decoder_for(resp.headers.get("Content-Encoding"))
    except errors.ProtocolError:
        resp.close()
        raise
    return Response(resp, deadline, timeout.idle, decoder)
