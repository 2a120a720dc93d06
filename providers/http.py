"""Shared upstream HTTP sessions, one per (event loop, TLS/proxy configuration).

The hot path uses aiohttp directly: measured on this machine it costs a fraction
of the CPU of httpx's default httpcore pool per request (see the speed issue and
``manage.py bench``). Sessions are pooled per process; connections are kept alive.
"""
from __future__ import annotations

import asyncio
import ssl
import weakref
from typing import Any

import aiohttp

from .adapters.base import ProviderConfig

_sessions: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], aiohttp.ClientSession]]" = (
    weakref.WeakKeyDictionary()
)


def _ssl_context(verify: bool, ca_bundle: str | None) -> ssl.SSLContext | bool:
    if not verify:
        return False
    if ca_bundle:
        return ssl.create_default_context(cafile=ca_bundle)
    return True


def session_for(config: ProviderConfig) -> aiohttp.ClientSession:
    verify = bool(config.setting("verify_tls", True))
    ca_bundle = config.setting("ca_bundle")
    direct = bool(config.setting("direct", False))
    key = (verify, ca_bundle, direct)
    loop = asyncio.get_running_loop()
    per_loop = _sessions.setdefault(loop, {})
    session = per_loop.get(key)
    if session is None or session.closed:
        connector = aiohttp.TCPConnector(
            limit=0,  # the per-provider concurrency cap bounds load, not the pool
            ttl_dns_cache=10,
            ssl=_ssl_context(verify, ca_bundle),
            keepalive_timeout=30,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            trust_env=not direct,  # honour HTTP(S)_PROXY / NO_PROXY unless in direct mode
            auto_decompress=True,
            skip_auto_headers=("User-Agent",),
        )
        per_loop[key] = session
    return session


def timeout_for(config: ProviderConfig, *, default_connect: float, default_read: float) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(
        total=None,
        sock_connect=float(config.setting("connect_timeout", default_connect)),
        sock_read=float(config.setting("read_timeout", default_read)),
    )


async def close_all() -> None:
    loop = asyncio.get_running_loop()
    for session in list(_sessions.pop(loop, {}).values()):
        await session.close()
