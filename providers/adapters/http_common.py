"""What the HTTP adapters (``openai_compat``, ``anthropic``, ``responses``) share:
the provider's extra query string, timeouts, a non-streaming POST, and fetching a
JSON document."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import aiohttp
from django.conf import settings

from ..http import session_for, timeout_for
from . import errors
from .base import ProviderConfig

MODELS_TOTAL_TIMEOUT = 15.0


def query_suffix(config: ProviderConfig) -> str:
    """``?...`` from the provider's ``extra_query`` setting, or ``""``."""
    query = config.setting("extra_query") or {}
    return ("?" + urlencode(query)) if query else ""


def request_timeout(config: ProviderConfig) -> aiohttp.ClientTimeout:
    """The timeout of a chat request: the provider's settings, else the gateway's defaults."""
    return timeout_for(
        config, default_connect=settings.GATEWAY_CONNECT_TIMEOUT, default_read=settings.GATEWAY_READ_TIMEOUT
    )


async def post_for_body(config: ProviderConfig, url: str, data: bytes, *, headers: dict[str, str],
                        timeout: aiohttp.ClientTimeout) -> bytes:
    """The body of a successful non-streaming ``POST``; an OpenAI-shaped
    ``UpstreamError`` for an HTTP error status or a transport failure."""
    session = session_for(config)
    try:
        async with session.post(url, data=data, headers=headers, timeout=timeout) as resp:
            payload = await resp.read()
            if resp.status >= 400:
                raise errors.from_http_error(config.name, resp.status, payload, resp.headers)
            return payload
    except errors.UpstreamError:
        raise
    except Exception as exc:
        raise errors.from_transport(config.name, exc) from None


async def get_json(config: ProviderConfig, url: str, *, headers: dict[str, str],
                   params: dict[str, str] | None = None) -> tuple[int, Any]:
    """(HTTP status, parsed JSON or None) of a ``GET`` such as ``/models``, as reported."""
    timeout = aiohttp.ClientTimeout(
        total=MODELS_TOTAL_TIMEOUT,
        sock_connect=float(config.setting("connect_timeout", settings.GATEWAY_CONNECT_TIMEOUT)),
    )
    session = session_for(config)
    try:
        async with session.get(url, params=params, headers=headers, timeout=timeout) as resp:
            payload = await resp.read()
            status = resp.status
    except Exception as exc:
        raise errors.from_transport(config.name, exc) from None
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, None
