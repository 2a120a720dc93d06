"""What the HTTP adapters (``openai_compat``, ``anthropic``, ``responses``) share:
the provider's extra query string, timeouts, a non-streaming POST, and fetching a
JSON document."""
from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

from django.conf import settings

from .. import h1, http
from . import errors
from .base import ProviderConfig

MODELS_TOTAL_TIMEOUT = 15.0
MAX_REDIRECTS = 5

# What the adapters accept back: compressed answers when not streaming; a stream
# uncompressed, so that no compressor between the upstream and the gateway holds
# events back to fill a block.
ACCEPT_COMPRESSED = {"Accept-Encoding": "gzip, deflate"}
STREAM_ACCEPT = {"Accept": "text/event-stream", "Accept-Encoding": "identity"}


def query_suffix(config: ProviderConfig) -> str:
    """``?...`` from the provider's ``extra_query`` setting, or ``""``."""
    query = config.setting("extra_query") or {}
    return ("?" + urlencode(query)) if query else ""


def request_timeout(config: ProviderConfig) -> http.Timeouts:
    """The timeouts of a chat request: the provider's settings, else the gateway's defaults."""
    return http.timeouts_for(
        config, default_connect=settings.GATEWAY_CONNECT_TIMEOUT, default_read=settings.GATEWAY_READ_TIMEOUT
    )


async def post_for_body(config: ProviderConfig, url: str, data: bytes, *, headers: dict[str, str],
                        timeout: http.Timeouts) -> bytes:
    """The body of a successful non-streaming ``POST``; an OpenAI-shaped
    ``UpstreamError`` for an HTTP error status or a transport failure."""
    try:
        resp = await http.request(config, "POST", url, headers={**ACCEPT_COMPRESSED, **headers}, body=data,
                                  timeout=timeout)
    except Exception as exc:
        raise errors.from_transport(config.name, exc) from None
    try:
        if resp.status >= 400:
            raise errors.from_http_error(config.name, resp.status, await errors.read_error_body(resp), resp.headers)
        if 300 <= resp.status < 400:
            raise errors.redirected(config.name, resp.status, resp.headers)
        payload = await resp.read()
    except errors.UpstreamError:
        resp.close()
        raise
    except BaseException as exc:
        resp.close()
        if isinstance(exc, Exception):
            raise errors.from_transport(config.name, exc) from None
        raise
    resp.release()
    return payload


async def open_stream(config: ProviderConfig, url: str, data: bytes, *, headers: dict[str, str],
                      timeout: http.Timeouts) -> h1.Response:
    """``POST`` a streaming request; the answer once its head says it succeeded (the
    caller reads it, then releases or closes it). An OpenAI-shaped ``UpstreamError``
    for a transport failure, an HTTP error status or a redirect."""
    try:
        resp = await http.request(config, "POST", url, headers={**headers, **STREAM_ACCEPT}, body=data,
                                  timeout=timeout)
    except Exception as exc:
        raise errors.from_transport(config.name, exc) from None
    if resp.status < 300:
        return resp
    try:
        if resp.status >= 400:
            raise errors.from_http_error(config.name, resp.status, await errors.read_error_body(resp), resp.headers)
        raise errors.redirected(config.name, resp.status, resp.headers)
    finally:
        resp.close()


async def get_json(config: ProviderConfig, url: str, *, headers: dict[str, str],
                   params: dict[str, str] | None = None) -> tuple[int, Any]:
    """(HTTP status, parsed JSON or None) of a ``GET`` such as ``/models``, as reported.
    Redirects are followed (a few)."""
    if params:
        url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
    timeout = http.timeouts_for(config, default_connect=settings.GATEWAY_CONNECT_TIMEOUT,
                                default_read=MODELS_TOTAL_TIMEOUT)
    try:
        async with asyncio.timeout(MODELS_TOTAL_TIMEOUT):
            for _hop in range(MAX_REDIRECTS + 1):
                resp = await http.request(config, "GET", url, headers={**headers, **ACCEPT_COMPRESSED},
                                          timeout=timeout)
                try:
                    location = resp.headers.get("Location")
                    if resp.status in (301, 302, 303, 307, 308) and location:
                        resp.close()
                        url = http.join_url(url, location)
                        continue
                    payload = await resp.read()
                    status = resp.status
                except BaseException:
                    resp.close()
                    raise
                resp.release()
                break
            else:
                status, payload = 502, b""
    except Exception as exc:
        raise errors.from_transport(config.name, exc) from None
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, None
