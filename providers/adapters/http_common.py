"""What the HTTP adapters (``openai_compat``, ``anthropic``, ``responses``) share:
the provider's extra query string, timeouts, a non-streaming POST, and fetching a
JSON document."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

from django.conf import settings

from ..transport import client
from ..transport.client import Response, Timeouts
from . import errors
from .base import Adapter, ModelEntry, ModelListing, ProviderConfig, UpstreamError

log = logging.getLogger("gateway.upstream")

MODELS_TOTAL_TIMEOUT = 15.0
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)

# What the adapters accept back: compressed answers when not streaming; a stream
# uncompressed, so that no compressor between the upstream and the gateway holds
# events back to fill a block.
ACCEPT_COMPRESSED = {"Accept-Encoding": "gzip, deflate"}
STREAM_ACCEPT = {"Accept": "text/event-stream", "Accept-Encoding": "identity"}


def query_suffix(config: ProviderConfig) -> str:
    """``?...`` from the provider's ``extra_query`` setting, or ``""``."""
    query = config.setting("extra_query") or {}
    return ("?" + urlencode(query)) if query else ""


def request_timeout(config: ProviderConfig) -> Timeouts:
    """The timeouts of a chat request: the provider's settings, else the gateway's defaults."""
    return client.timeouts_for(config)


def request_headers(config: ProviderConfig, base: dict[str, str]) -> dict[str, str]:
    """``base`` with the provider's extra headers over it, less those it may not set
    (framing and hop-by-hop headers; refused at save time, ignored for older rows)."""
    return {**base, **client.allowed_extra_headers(config.extra_headers)}


async def post_for_body(config: ProviderConfig, url: str, data: bytes, *, headers: dict[str, str],
                        timeout: Timeouts) -> bytes:
    """The body of a successful non-streaming ``POST``; an OpenAI-shaped
    ``UpstreamError`` for an HTTP error status or a transport failure."""
    try:
        resp = await client.request(config, "POST", url, headers={**ACCEPT_COMPRESSED, **headers}, body=data,
                                  timeout=timeout)
    except Exception as exc:  # noqa: BLE001 -- every failure becomes an UpstreamError
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
    except Exception as exc:  # noqa: BLE001 -- every failure becomes an UpstreamError
        resp.close()
        raise errors.from_transport(config.name, exc) from None
    except BaseException:  # cancelled: drop the connection, let the cancellation through
        resp.close()
        raise
    resp.release()
    return payload


async def read_body(provider: str, resp: Response) -> bytes:
    """A whole (capped) body of an answer already under way; failures as ``UpstreamError``."""
    try:
        return await resp.read()
    except Exception as exc:  # noqa: BLE001 -- every failure becomes an UpstreamError
        raise errors.from_transport(provider, exc, mid_stream=True) from None


async def open_stream(config: ProviderConfig, url: str, data: bytes, *, headers: dict[str, str],
                      timeout: Timeouts) -> Response:
    """``POST`` a streaming request; the answer once its head says it succeeded (the
    caller reads it, then releases or closes it). An OpenAI-shaped ``UpstreamError``
    for a transport failure, an HTTP error status or a redirect."""
    try:
        resp = await client.request(config, "POST", url, headers={**headers, **STREAM_ACCEPT}, body=data,
                                  timeout=timeout)
    except Exception as exc:  # noqa: BLE001 -- every failure becomes an UpstreamError
        raise errors.from_transport(config.name, exc) from None
    if resp.status < 300:
        return resp
    try:
        if resp.status >= 400:
            raise errors.from_http_error(config.name, resp.status, await errors.read_error_body(resp), resp.headers)
        raise errors.redirected(config.name, resp.status, resp.headers)
    finally:
        resp.close()


class Streamed:
    """A streamed answer being read (``resp``): released for reuse once the reader marks
    it ``finished``; else (the client went away, something failed) closed, which drops the
    connection so the upstream stops generating at once."""

    def __init__(self, resp: Response) -> None:
        self.resp = resp
        self.finished = False


@asynccontextmanager
async def streamed(config: ProviderConfig, url: str, data: bytes, *, headers: dict[str, str],
                   timeout: Timeouts) -> AsyncIterator[Streamed]:
    """``open_stream`` for an ``async with``: the answer, released or closed on leaving."""
    answer = Streamed(await open_stream(config, url, data, headers=headers, timeout=timeout))
    try:
        yield answer
    finally:
        if answer.finished:
            answer.resp.release()
        else:
            answer.resp.close()


async def get_json(config: ProviderConfig, url: str, *, headers: dict[str, str],
                   params: dict[str, str] | None = None) -> tuple[int, Any]:
    """(HTTP status, parsed JSON or None) of a ``GET`` such as ``/models``, as reported.
    Redirects are followed (a few)."""
    if params:
        url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
    chat = client.timeouts_for(config)
    timeout = Timeouts(connect=chat.connect, first_byte=MODELS_TOTAL_TIMEOUT, idle=MODELS_TOTAL_TIMEOUT)
    try:
        async with asyncio.timeout(MODELS_TOTAL_TIMEOUT):
            for _hop in range(MAX_REDIRECTS + 1):
                resp = await client.request(config, "GET", url, headers={**headers, **ACCEPT_COMPRESSED},
                                          timeout=timeout)
                try:
                    location = resp.headers.get("Location")
                    target = client.same_origin(url, location) if location and resp.status in REDIRECTS else None
                    if target is not None:
                        resp.close()
                        url = target
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
    except Exception as exc:  # noqa: BLE001 -- every failure becomes an UpstreamError
        raise errors.from_transport(config.name, exc) from None
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, None


class CachedModels:
    """An HTTP adapter's live model list, kept ``GATEWAY_MODELS_CACHE_SECONDS``.

    ``fetch`` returns the backend's ``(status, JSON)``; ``parse`` turns a
    successful answer into model entries, or None when it is unusable. Whenever
    the backend cannot say, the provider's configured list stands in (cached
    too, so a backend without ``/models`` is not asked on every request)."""

    def __init__(self, adapter: Adapter, fetch: Callable[[], Awaitable[tuple[int, Any]]],
                 parse: Callable[[Any], list[ModelEntry] | None]) -> None:
        self.adapter = adapter
        self.fetch = fetch
        self.parse = parse
        self.cached: tuple[float, ModelListing] | None = None

    async def get(self) -> ModelListing:
        now = time.monotonic()
        if self.cached and now - self.cached[0] < settings.GATEWAY_MODELS_CACHE_SECONDS:
            return self.cached[1]
        name = self.adapter.config.name
        try:
            status, raw = await self.fetch()
        except UpstreamError as exc:
            log.warning("provider=%s models unavailable: %s", name, exc.cause)
            return self.adapter.configured_models()
        entries = self.parse(raw) if status < 400 else None
        if entries is None:
            log.warning("provider=%s models unavailable: HTTP %s", name, status)
            listing = self.adapter.configured_models()
        else:
            listing = ModelListing(models=entries, source="upstream", raw=raw)
        self.cached = (now, listing)
        return listing
