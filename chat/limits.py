"""Abuse and overload limits on the /v1 path.

- **Rate limits per gateway key**: requests and tokens per minute, from
  ``GATEWAY_RATE_LIMIT_RPM/TPM`` or the key's own ``rate_limit_rpm/tpm``
  (0 = unlimited). Counted in fixed one-minute windows in Django's cache, so
  every gateway process shares them when the cache is Redis. Counters use the
  cache's atomic ``add``/``incr``; with nothing configured the hot path does no
  cache work at all.
- **Per-provider concurrency cap** (setting ``max_concurrency``): a request over
  the cap is answered 429 at once instead of queueing without bound.
- **Retry before the first byte** (setting ``retries``, default 0): connection
  failures, 429 and 5xx are retried with exponential backoff that honours the
  upstream's ``Retry-After``; once a byte went to the client nothing is retried.

Tokens are counted from the usage the upstream reports (``usage`` of a
non-streaming answer, the usage chunk of a stream); without one they are
estimated from the sizes of the request and the answer.
"""
from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.utils.translation import gettext as _

from providers.adapters.base import Adapter, ProviderConfig, UpstreamError
from providers.routing import KeyInfo

log = logging.getLogger("gateway.limits")

WINDOW_SECONDS = 60
# Longest Retry-After the gateway waits out itself before a retry; beyond it the
# upstream's 429 goes to the client as is.
MAX_RETRY_WAIT = 30.0
_TOTAL_TOKENS = re.compile(rb'"total_tokens"\s*:\s*(\d+)')


class LimitExceeded(UpstreamError):
    """A limit of the gateway itself (not of the upstream): answered 429."""

    def __init__(self, message: str, *, code: str, retry_after: float, cause: str) -> None:
        super().__init__(
            message, status=429, type="rate_limit_error", code=code, retry_after=retry_after, cause=cause
        )


# Rate limits --------------------------------------------------------------------


def limits_for(key: KeyInfo) -> tuple[int, int]:
    """(requests per minute, tokens per minute) of ``key``; 0 means unlimited."""
    rpm = key.rate_limit_rpm if key.rate_limit_rpm is not None else settings.GATEWAY_RATE_LIMIT_RPM
    tpm = key.rate_limit_tpm if key.rate_limit_tpm is not None else settings.GATEWAY_RATE_LIMIT_TPM
    return int(rpm or 0), int(tpm or 0)


def _window() -> tuple[int, float]:
    """The current window number and the seconds left in it."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    return window, (window + 1) * WINDOW_SECONDS - now


def _cache_key(kind: str, key_id: int, window: int) -> str:
    return f"gw:rl:{kind}:{key_id}:{window}"


def _add_sync(name: str, amount: int) -> int:
    """Atomically add ``amount`` to a window counter; return the new value."""
    # Two windows' worth of lifetime: the counter outlives its window, never less.
    if cache.add(name, amount, timeout=2 * WINDOW_SECONDS):
        return amount
    try:
        return int(cache.incr(name, amount))
    except ValueError:  # expired between add and incr
        cache.add(name, amount, timeout=2 * WINDOW_SECONDS)
        return amount


async def _run(fn: Any, *args: Any) -> Any:
    # The in-process cache never blocks; a network cache (Redis) runs in a worker
    # thread so the event loop never waits on it.
    if _local_cache():
        return fn(*args)
    return await asyncio.to_thread(fn, *args)


def _local_cache() -> bool:
    return isinstance(caches["default"], LocMemCache)


def _admit_sync(key_id: int, rpm: int, tpm: int) -> tuple[str, float] | None:
    window, left = _window()
    if tpm:
        used = cache.get(_cache_key("t", key_id, window)) or 0
        if int(used) >= tpm:
            return "tokens", left
    if rpm:
        count = _add_sync(_cache_key("r", key_id, window), 1)
        if count > rpm:
            return "requests", left
    return None


async def admit(key: KeyInfo) -> None:
    """Count one request of ``key``; raise ``LimitExceeded`` (429) over a limit."""
    rpm, tpm = limits_for(key)
    if not rpm and not tpm:
        return
    try:
        refused = await _run(_admit_sync, key.id, rpm, tpm)
    except Exception as exc:
        # The cache (Redis) is down: serve rather than refuse everyone; say so loudly.
        log.error("key=%s cause=rate limit counters unavailable (%s); request let through", key.name,
                  type(exc).__name__)
        return
    if refused is None:
        return
    kind, left = refused
    retry_after = float(max(1, math.ceil(left)))
    log.warning("key=%s cause=rate limit (%s per minute) exceeded", key.name, kind)
    values = {"limit": rpm if kind == "requests" else tpm, "seconds": int(retry_after)}
    if kind == "requests":
        message = _(
            "Rate limit exceeded: at most %(limit)s requests per minute for this key. Retry after %(seconds)s seconds."
        ) % values
    else:
        message = _(
            "Rate limit exceeded: at most %(limit)s tokens per minute for this key. Retry after %(seconds)s seconds."
        ) % values
    raise LimitExceeded(message, code="rate_limit_exceeded", retry_after=retry_after, cause=f"{kind} per minute")


async def record_tokens(key: KeyInfo, tokens: int) -> None:
    """Add ``tokens`` to ``key``'s current window (after a response)."""
    if tokens <= 0 or not limits_for(key)[1]:
        return
    window, _left = _window()
    try:
        await _run(_add_sync, _cache_key("t", key.id, window), int(tokens))
    except Exception:  # accounting must never break a finished response
        log.exception("key=%s token accounting failed", key.name)


def usage_tokens(payload: bytes) -> int | None:
    """``usage.total_tokens`` reported in an answer or stream frame, if any."""
    if b'"usage"' not in payload:
        return None
    found = _TOTAL_TOKENS.findall(payload)
    return int(found[-1]) if found else None


def estimate_tokens(nbytes: int) -> int:
    # A rough, deliberately generous estimate (about four bytes per token).
    return max(1, nbytes // 4)


# Concurrency cap -------------------------------------------------------------------


_in_flight: dict[str, int] = {}


class _Slot:
    """One request's place under a provider's concurrency cap; released once."""

    __slots__ = ("name", "held")

    def __init__(self, name: str) -> None:
        self.name = name
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            _in_flight[self.name] = _in_flight.get(self.name, 1) - 1


def _acquire(config: ProviderConfig) -> _Slot | None:
    cap = config.setting("max_concurrency")
    if not cap:
        return None
    current = _in_flight.get(config.name, 0)
    if current >= int(cap):
        log.warning("provider=%s cause=concurrency cap (%s) reached", config.name, cap)
        raise LimitExceeded(
            _("Too many concurrent requests to provider “%(name)s” (at most %(limit)s). Retry shortly.")
            % {"name": config.name, "limit": cap},
            code="concurrency_limit_exceeded",
            retry_after=1.0,
            cause="concurrency cap reached",
        )
    _in_flight[config.name] = current + 1
    return _Slot(config.name)


def in_flight(name: str) -> int:
    """Requests currently held under provider ``name``'s cap (for tests and stats)."""
    return _in_flight.get(name, 0)


# Retries -----------------------------------------------------------------------


_sleep = asyncio.sleep  # a seam for tests


def backoff(attempt: int, retry_after: float | None) -> float | None:
    """Seconds to wait before retry number ``attempt`` (1-based), or None to give up."""
    if retry_after is not None:
        return retry_after if retry_after <= MAX_RETRY_WAIT else None
    return min(MAX_RETRY_WAIT, 0.25 * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)


async def _pause_or_raise(config: ProviderConfig, exc: UpstreamError, attempt: int, retries: int) -> None:
    if not exc.retryable or attempt > retries:
        raise exc
    delay = backoff(attempt, exc.retry_after)
    if delay is None:
        raise exc
    log.info("provider=%s cause=%s: retry %s of %s in %.2fs", config.name, exc.cause, attempt, retries, delay)
    await _sleep(delay)


class GuardedAdapter(Adapter):
    """Wraps any adapter with the concurrency cap, retries and token accounting."""

    def __init__(self, inner: Adapter, key: KeyInfo, request_bytes: int) -> None:
        super().__init__(inner.config)
        self.inner = inner
        self.key = key
        self.request_bytes = request_bytes
        self.retries = int(inner.config.setting("retries", 0) or 0)
        self.count_tokens = bool(limits_for(key)[1])

    async def complete(self, body: dict[str, Any]) -> bytes:
        slot = _acquire(self.config)
        try:
            attempt = 0
            while True:
                attempt += 1
                try:
                    payload = await self.inner.complete(body)
                    break
                except UpstreamError as exc:
                    await _pause_or_raise(self.config, exc, attempt, self.retries)
        finally:
            if slot is not None:
                slot.release()
        if self.count_tokens:
            tokens = usage_tokens(payload)
            await record_tokens(self.key, tokens if tokens is not None else estimate_tokens(self.request_bytes + len(payload)))
        return payload

    async def stream(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        slot = _acquire(self.config)
        agen: Any = None
        sent = 0
        tokens: int | None = None
        try:
            attempt = 0
            while True:
                attempt += 1
                agen = self.inner.stream(body)
                try:
                    first = await agen.__anext__()
                    break
                except UpstreamError as exc:
                    await agen.aclose()
                    agen = None
                    await _pause_or_raise(self.config, exc, attempt, self.retries)
            # From here on bytes reach the client: never a retry.
            sent += len(first)
            if self.count_tokens:
                tokens = usage_tokens(first) or tokens
            yield first
            async for frame in agen:
                if self.count_tokens:
                    sent += len(frame)
                    tokens = usage_tokens(frame) or tokens
                yield frame
        finally:
            if agen is not None:
                await agen.aclose()
            if slot is not None:
                slot.release()
            if self.count_tokens and sent:
                await record_tokens(self.key, tokens if tokens is not None else estimate_tokens(self.request_bytes + sent))

    def __getattr__(self, name: str) -> Any:
        # Anything else an adapter offers (passthroughs, helpers) is the inner one's.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    async def list_models(self) -> Any:
        return await self.inner.list_models()

    def configured_models(self) -> Any:
        return self.inner.configured_models()


def guard(adapter: Adapter, key: KeyInfo, request_bytes: int) -> Adapter:
    """``adapter`` wrapped with whatever limits apply; unchanged when none do."""
    config = adapter.config
    if not config.setting("max_concurrency") and not config.setting("retries") and not limits_for(key)[1]:
        return adapter
    return GuardedAdapter(adapter, key, request_bytes)
