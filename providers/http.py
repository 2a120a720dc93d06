"""Shared upstream HTTP sessions, one per (event loop, TLS/proxy configuration).

The hot path uses aiohttp directly: measured on this machine it costs a fraction
of the CPU of httpx's default httpcore pool per request (see the speed issue and
``manage.py bench``). Sessions are pooled per process; connections are kept alive.

Pooled sessions are closed when their event loop shuts down: ``asyncio.run`` (and
uvicorn, which runs its loop the same way) finalises every async generator of the
loop before closing it, so one small guard generator per loop closes the sessions
then, with or without ASGI lifespan support. ``close_all()`` does it explicitly.
"""
from __future__ import annotations

import asyncio
import os
import ssl
import weakref
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

from .adapters.base import ProviderConfig
from .url_policy import PolicyConnector

# (verify TLS, CA bundle, direct, proxy URL, proxy auth)
SessionKey = tuple[bool, "str | None", bool, "str | None", "aiohttp.BasicAuth | None"]

# aiohttp's ``trust_env`` looks the environment's proxy (and ~/.netrc) up in a worker
# thread on every request: two thread hops that cost more than the rest of the relay.
# The gateway resolves HTTP(S)_PROXY/NO_PROXY itself, once per base URL and proxy
# environment, and hands the result to the session (see ``manage.py bench``).
_PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
               "no_proxy", "NO_PROXY")
_env_proxies: dict[tuple[Any, ...], tuple["str | None", "aiohttp.BasicAuth | None"]] = {}
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
    """The proxy the environment chooses for ``url`` (None: connect directly)."""
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


class _LoopSessions:
    __slots__ = ("sessions", "guard", "__weakref__")

    def __init__(self) -> None:
        self.sessions: dict[SessionKey, aiohttp.ClientSession] = {}
        self.guard: Any = None


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSessions] = weakref.WeakKeyDictionary()


def _ssl_context(verify: bool, ca_bundle: str | None) -> ssl.SSLContext | bool:
    if not verify:
        return False
    if ca_bundle:
        return ssl.create_default_context(cafile=ca_bundle)
    return True


def session_options(config: ProviderConfig) -> SessionKey:
    """The part of a provider's settings that needs a session of its own."""
    direct = bool(config.setting("direct", False))
    proxy, proxy_auth = (None, None) if direct or not config.base_url else env_proxy(config.base_url)
    return (
        bool(config.setting("verify_tls", True)),
        config.setting("ca_bundle") or None,
        direct,
        proxy,
        proxy_auth,
    )


def new_session(options: SessionKey) -> aiohttp.ClientSession:
    """A fresh session for these TLS/proxy options (the caller closes it)."""
    verify, ca_bundle, direct, proxy, proxy_auth = options
    # PolicyConnector: the base URL policy runs again on every address connected to.
    connector = PolicyConnector(
        limit=0,  # the per-provider concurrency cap bounds load, not the pool
        ttl_dns_cache=10,
        ssl=_ssl_context(verify, ca_bundle),
        keepalive_timeout=30,
    )
    return aiohttp.ClientSession(
        connector=connector,
        trust_env=False,  # HTTP(S)_PROXY / NO_PROXY are resolved by session_options (not in direct mode)
        proxy=proxy,
        proxy_auth=proxy_auth,
        auto_decompress=True,
        skip_auto_headers=("User-Agent",),
    )


async def _close_at_loop_shutdown(state: _LoopSessions) -> AsyncIterator[None]:
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


def session_for(config: ProviderConfig) -> aiohttp.ClientSession:
    options = session_options(config)
    state = _loop_state(asyncio.get_running_loop())
    session = state.sessions.get(options)
    if session is None or session.closed:
        session = new_session(options)
        state.sessions[options] = session
    return session


def timeout_for(config: ProviderConfig, *, default_connect: float, default_read: float) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(
        total=None,
        sock_connect=float(config.setting("connect_timeout", default_connect)),
        sock_read=float(config.setting("read_timeout", default_read)),
    )


async def close_all() -> None:
    """Close this loop's pooled sessions (e.g. from an ASGI lifespan shutdown)."""
    state = _by_loop.get(asyncio.get_running_loop())
    if state is not None:
        await _close_sessions(state)
