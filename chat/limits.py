"""Abuse and overload limits on the /v1 path.

- **Rate limits per gateway key**: requests and tokens per minute, from
  ``GATEWAY_RATE_LIMIT_RPM/TPM`` or the key's own ``rate_limit_rpm/tpm``
  (0 = unlimited). Counted in fixed one-minute windows in Django's cache, so
  every gateway process shares them when the cache is Redis. Counters use the
  cache's atomic ``add``/``incr``; with nothing configured the hot path does no
  cache work at all.
- **Budgets per gateway key** (chat/budgets.py): requests and tokens per UTC day
  and month, counted by the same admission and settlement as the per-minute
  limits, in one pass over the counters.
- **Per-provider concurrency cap** (``ConcurrencyLimiter``; the cap and the wait
  are the adapter's ``concurrency()``: the ``max_concurrency`` setting, and for
  program types a default of 4 and a wait of up to 10 s): a request over the
  cap is answered 429 (``concurrency_limit_exceeded``) instead of queueing
  without bound. The one limiter of the gateway.
- **Retry before the first byte** (setting ``retries``, default 0): connection
  failures, 429 and 5xx are retried with exponential backoff that honours the
  upstream's ``Retry-After``; once a byte went to the client nothing is retried.

Tokens are reserved at admission (an estimate: the messages' text plus
``max_tokens`` or a default) with one atomic increment, so concurrent requests
in every process see each other, then settled to the usage the upstream reports
(``usage`` of a non-streaming answer, the usage chunk of a stream); without one
they are estimated from the sizes of the request and the answer.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.utils.translation import gettext as _

from providers.adapters.base import Adapter, Frames, ProviderConfig, UpstreamError
from providers.routing import KeyInfo

from . import budgets
from . import usage_scan as usage
from .usage_scan import usage_tokens  # noqa: F401  (part of this module's interface)

log = logging.getLogger("gateway.limits")

WINDOW_SECONDS = 60
# Longest Retry-After the gateway waits out itself before a retry; beyond it the
# upstream's 429 goes to the client as is.
MAX_RETRY_WAIT = 30.0


class LimitExceeded(UpstreamError):
    """A limit of the gateway itself (not of the upstream): answered 429."""

    def __init__(self, message: str, *, code: str, retry_after: float, cause: str) -> None:
        super().__init__(
            message, status=429, type="rate_limit_error", code=code, retry_after=retry_after, cause=cause
        )


class QuotaExceeded(LimitExceeded):
    """A daily or monthly budget of the key is spent (chat/budgets.py): 429
    ``quota_exceeded``; the error names the budget and when it resets."""

    def __init__(self, message: str, *, budget: str, resets_at: float, retry_after: float) -> None:
        super().__init__(message, code="quota_exceeded", retry_after=retry_after, cause=f"quota {budget}")
        self.extra = {"quota": budget, "resets_at": budgets.iso(resets_at)}


# Rate limits --------------------------------------------------------------------


def limits_for(key: KeyInfo) -> tuple[int, int]:
    """(requests per minute, tokens per minute) of ``key``; 0 means unlimited."""
    rpm = key.rate_limit_rpm if key.rate_limit_rpm is not None else settings.GATEWAY_RATE_LIMIT_RPM
    tpm = key.rate_limit_tpm if key.rate_limit_tpm is not None else settings.GATEWAY_RATE_LIMIT_TPM
    return int(rpm or 0), int(tpm or 0)


def _cache_key(kind: str, key_id: int, window: int) -> str:
    return f"gw:rl:{kind}:{key_id}:{window}"


def _add_sync(name: str, amount: int, ttl: int = 2 * WINDOW_SECONDS) -> int:
    """Atomically add ``amount`` to a counter; return the new value."""
    # A lifetime beyond the counter's window (two windows' worth for a minute), never less.
    if cache.add(name, amount, timeout=ttl):
        return amount
    try:
        return int(cache.incr(name, amount))
    except ValueError:  # expired between add and incr
        cache.add(name, amount, timeout=ttl)
        return amount


async def _run(fn: Any, *args: Any) -> Any:
    # The in-process cache never blocks; a network cache (Redis) runs in a worker
    # thread so the event loop never waits on it.
    if _local_cache():
        return fn(*args)
    return await asyncio.to_thread(fn, *args)


def _local_cache() -> bool:
    return isinstance(caches["default"], LocMemCache)


@dataclass
class Reservation:
    """Tokens counted for a request at admission, in each token counter it was
    admitted against (``counters``: cache key and lifetime: the minute's, the
    day's and month's budgets); ``settle`` replaces them with the real usage."""

    key: KeyInfo
    tokens: int
    counters: list[tuple[str, int]]


def _give_back(name: str, amount: int) -> None:
    try:
        cache.incr(name, -amount)
    except ValueError:  # the window's counter is gone: nothing left to give back to
        pass


def _take_sync(plan: list[budgets.Check]) -> budgets.Check | None:
    """Add every counter of ``plan`` in order; at the first one already spent, give
    back what was taken and return it. One atomic increment per counter both
    reserves and tells what was counted before it, so concurrent requests (in any
    process sharing the cache) each see those admitted before them."""
    taken: list[budgets.Check] = []
    for check in plan:
        after = _add_sync(check.name, check.amount, check.ttl) if check.amount else int(cache.get(check.name) or 0)
        if after - check.amount >= check.limit:
            for done in (*taken, check):
                if done.amount:
                    _give_back(done.name, done.amount)
            return check
        taken.append(check)
    return None


def _minute_checks(key: KeyInfo, rpm: int, tpm: int, tokens: int, now: float) -> list[budgets.Check]:
    window = int(now // WINDOW_SECONDS)
    resets = (window + 1) * WINDOW_SECONDS
    plan = []
    if tpm:
        plan.append(budgets.Check(_cache_key("t", key.id, window), tokens, tpm, 2 * WINDOW_SECONDS, "", resets))
    if rpm:
        plan.append(budgets.Check(_cache_key("r", key.id, window), 1, rpm, 2 * WINDOW_SECONDS, "", resets))
    return plan


def counts_tokens(key: KeyInfo) -> bool:
    """Whether admitting a request of ``key`` reserves tokens (a token limit or budget is set)."""
    return bool(limits_for(key)[1]) or budgets.counts_tokens(key)


async def admit(key: KeyInfo, tokens: int = 0) -> Reservation | None:
    """Count one request of ``key`` and reserve ``tokens`` (an estimate of what it
    will use) against its tokens per minute and its token budgets; raise
    ``LimitExceeded`` (429) over a per-minute limit, ``QuotaExceeded`` (429,
    ``quota_exceeded``) over a daily or monthly budget (chat/budgets.py). A request
    is admitted while its window has tokens left before its own reservation, so one
    request may overshoot a token limit by at most its own usage.
    Returns the reservation to ``settle`` (None when no token counter applies)."""
    rpm, tpm = limits_for(key)
    if not rpm and not tpm and not budgets.has_budgets(key):
        return None
    now = time.time()
    tokens = max(0, int(tokens)) if counts_tokens(key) else 0
    plan = _minute_checks(key, rpm, tpm, tokens, now) + budgets.checks(key, tokens, now)
    try:
        refused = await _run(_take_sync, plan)
    except Exception as exc:  # noqa: BLE001 -- the cache is down: serve, loudly
        # The cache (Redis) is down: serve rather than refuse everyone; say so loudly.
        log.error("key=%s cause=rate limit counters unavailable (%s); request let through", key.name,
                  type(exc).__name__)
        return None
    if refused is None:
        counters = [(c.name, c.ttl) for c in plan if c.name.startswith(_TOKEN_COUNTERS)]
        return Reservation(key, tokens, counters) if counters else None
    retry_after = float(max(1, math.ceil(refused.resets_at - now)))
    if refused.budget:
        log.warning("key=%s cause=quota %s exceeded", key.name, refused.budget)
        raise QuotaExceeded(budgets.refusal_message(refused, int(retry_after)), budget=refused.budget,
                            resets_at=refused.resets_at, retry_after=retry_after)
    what = "tokens" if refused.name.startswith("gw:rl:t:") else "requests"
    log.warning("key=%s cause=rate limit (%s per minute) exceeded", key.name, what)
    values = {"limit": refused.limit, "seconds": int(retry_after)}
    if what == "requests":
        message = _(
            "Rate limit exceeded: at most %(limit)s requests per minute for this key. Retry after %(seconds)s seconds."
        ) % values
    else:
        message = _(
            "Rate limit exceeded: at most %(limit)s tokens per minute for this key. Retry after %(seconds)s seconds."
        ) % values
    raise LimitExceeded(message, code="rate_limit_exceeded", retry_after=retry_after, cause=f"{what} per minute")


_TOKEN_COUNTERS = ("gw:rl:t:", "gw:bq:t:")


def _settle_sync(counters: list[tuple[str, int]], delta: int) -> None:
    for name, ttl in counters:
        if delta > 0:
            _add_sync(name, delta, ttl)
        else:
            _give_back(name, -delta)


async def settle(reservation: Reservation | None, used: int | None) -> None:
    """Replace ``reservation`` by the tokens really ``used`` (None: unknown, the
    estimate stays counted) in every counter it was taken from. Runs once per
    request, however it ended."""
    if reservation is None or used is None:
        return
    delta = int(used) - reservation.tokens
    reservation.tokens = int(used)
    if not delta:
        return
    try:
        await _run(_settle_sync, reservation.counters, delta)
    except Exception:  # accounting must never break a finished response
        log.exception("key=%s token accounting failed", reservation.key.name)


def reservation_tokens(body: dict[str, Any]) -> int:
    """What a chat request is expected to use: its messages' text (every string but
    the roles) at about four characters a token, plus ``max_completion_tokens``/``max_tokens`` or, when the
    client names neither, ``GATEWAY_RATE_LIMIT_DEFAULT_COMPLETION_TOKENS``."""
    completion = body.get("max_completion_tokens", body.get("max_tokens"))
    if not isinstance(completion, int) or isinstance(completion, bool) or completion < 0:
        completion = settings.GATEWAY_RATE_LIMIT_DEFAULT_COMPLETION_TOKENS
    chars = 0
    pending: list[Any] = [body.get("messages")]
    while pending:  # iterative: a deeply nested body must not exhaust the stack
        item = pending.pop()
        if isinstance(item, str):
            chars += len(item)
        elif isinstance(item, dict):
            pending.extend(v for k, v in item.items() if k != "role")  # "user", "assistant": not text
        elif isinstance(item, list):
            pending.extend(item)
    return -(-chars // 4) + int(completion)


def estimate_tokens(nbytes: int) -> int:
    # A rough, deliberately generous estimate (about four bytes per token).
    return max(1, nbytes // 4)


# Concurrency cap -------------------------------------------------------------------


class ConcurrencyLimiter:
    """At most ``limit`` requests to one provider at once in this process.

    One more waits up to ``wait`` seconds for a slot (slots are handed over in
    arrival order), then gets a 429 (code ``concurrency_limit_exceeded``,
    ``Retry-After: 1``) so the client backs off instead of queueing without bound.
    With no wait it gets the 429 at once."""

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = max(1, int(limit))
        self.active = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def _refusal(self) -> LimitExceeded:
        log.warning("provider=%s cause=concurrency cap (%s) reached", self.name, self.limit)
        return LimitExceeded(
            _("Too many concurrent requests to provider “%(name)s” (at most %(limit)s). Retry shortly.")
            % {"name": self.name, "limit": self.limit},
            code="concurrency_limit_exceeded",
            retry_after=1.0,
            cause="concurrency cap reached",
        )

    async def acquire(self, wait: float) -> None:
        if self.active < self.limit and not self._waiters:
            self.active += 1
            return
        if wait <= 0:
            raise self._refusal()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await asyncio.wait_for(asyncio.shield(future), wait)
        except (TimeoutError, asyncio.CancelledError) as exc:
            if future.done() and not future.cancelled():
                # The slot was handed over just as we gave up: pass it on.
                self.release()
            else:
                future.cancel()
                with contextlib.suppress(ValueError):
                    self._waiters.remove(future)
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise self._refusal() from None

    def release(self) -> None:
        while self._waiters:
            future = self._waiters.popleft()
            if not future.done():
                future.set_result(None)  # the slot passes to the waiter; ``active`` stays
                return
        self.active -= 1
        # A raised limit (provider edited) lets more waiters in at once.
        while self._waiters and self.active < self.limit:
            future = self._waiters.popleft()
            if not future.done():
                self.active += 1
                future.set_result(None)

    @contextlib.asynccontextmanager
    async def slot(self, wait: float = 0.0) -> AsyncIterator[None]:
        await self.acquire(wait)
        try:
            yield
        finally:
            self.release()


# One limiter per provider name, so it outlives the adapter being rebuilt.
_limiters: dict[str, ConcurrencyLimiter] = {}


def limiter_for(name: str, limit: int) -> ConcurrencyLimiter:
    limiter = _limiters.get(name)
    if limiter is None:
        limiter = _limiters[name] = ConcurrencyLimiter(name, limit)
    limiter.limit = max(1, int(limit))
    return limiter


class _Slot:
    """One request's place under a provider's concurrency cap; released once."""

    __slots__ = ("held", "limiter")

    def __init__(self, limiter: ConcurrencyLimiter) -> None:
        self.limiter = limiter
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.limiter.release()


async def _acquire(adapter: Adapter) -> _Slot | None:
    """A slot under the cap the adapter declares (``Adapter.concurrency``), or None without one."""
    cap, wait = adapter.concurrency()
    if cap is None:
        return None
    limiter = limiter_for(adapter.config.name, cap)
    await limiter.acquire(wait)
    return _Slot(limiter)


def in_flight(name: str) -> int:
    """Requests currently held under provider ``name``'s cap (for tests and stats)."""
    limiter = _limiters.get(name)
    return limiter.active if limiter is not None else 0


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
    """Wraps any adapter with the concurrency cap, retries and token accounting:
    chat completions, and the inbound surfaces' native passthroughs (Messages and
    Responses to a backend that speaks them, embeddings, ``count_tokens``) alike."""

    def __init__(self, inner: Adapter, key: KeyInfo, request_bytes: int,
                 reservation: Reservation | None = None, record: Any = None) -> None:
        super().__init__(inner.config)
        self.inner = inner
        self.record = record  # the request log's record: gets the retry count
        self.key = key
        self.request_bytes = request_bytes
        self.retries = int(inner.config.setting("retries", 0) or 0)
        self.reservation = reservation

    # What the inner adapter can do (class attributes of ``Adapter``, so not found
    # by ``__getattr__``).
    @property
    def native_messages(self) -> bool:  # type: ignore[override]
        return self.inner.native_messages

    @property
    def native_responses(self) -> bool:  # type: ignore[override]
        return self.inner.native_responses

    @property
    def embeddings(self) -> bool:  # type: ignore[override]
        return self.inner.embeddings

    async def complete(self, body: dict[str, Any]) -> bytes:
        return await self._call(lambda: self.inner.complete(body), usage.FrameTotal())

    def stream(self, body: dict[str, Any]) -> Frames:
        return self._stream(lambda: self.inner.stream(body), usage.FrameTotal())

    async def messages_native(self, body: dict[str, Any], *, beta: str | None = None) -> bytes:
        return await self._call(lambda: self.inner.messages_native(body, beta=beta), usage.messages_scan())

    def messages_native_stream(self, body: dict[str, Any], *, beta: str | None = None) -> Frames:
        return self._stream(lambda: self.inner.messages_native_stream(body, beta=beta), usage.messages_scan())

    async def count_message_tokens(self, body: dict[str, Any], *, beta: str | None = None) -> bytes:
        return await self._call(lambda: self.inner.count_message_tokens(body, beta=beta), usage.Nothing())

    async def responses_native(self, body: dict[str, Any]) -> bytes:
        return await self._call(lambda: self.inner.responses_native(body), usage.total_scan())

    def responses_native_stream(self, body: dict[str, Any]) -> Frames:
        return self._stream(lambda: self.inner.responses_native_stream(body), usage.total_scan())

    async def embed(self, body: dict[str, Any]) -> bytes:
        return await self._call(lambda: self.inner.embed(body), usage.total_scan())

    def _attempts(self) -> Iterator[int]:
        """1, 2, 3 ...: the number of each try (the caller stops it, or ``_pause_or_raise``
        raises), noted on the request log's record as the retries so far."""
        for attempt in itertools.count(1):
            if self.record is not None:
                self.record.retries = attempt - 1
            yield attempt

    async def _call(self, call: Callable[[], Awaitable[bytes]], scan: usage.UsageScan) -> bytes:
        slot = await _acquire(self.inner)
        # Unknown until an answer or a refusal comes: a cancelled call keeps its estimate.
        used: int | None = None
        try:
            for attempt in self._attempts():
                try:
                    payload = await call()
                    break
                except UpstreamError as exc:
                    if not exc.retryable or attempt > self.retries:
                        used = 0  # refused upstream: nothing was generated
                    await _pause_or_raise(self.config, exc, attempt, self.retries)
            tokens = usage.scanned(scan, payload)
            used = tokens if tokens is not None else estimate_tokens(self.request_bytes + len(payload))
        finally:
            if slot is not None:
                slot.release()
            await settle(self.reservation, used)
        return payload

    async def _stream(self, start: Callable[[], AsyncIterator[bytes]], scan: usage.UsageScan) -> Frames:
        slot = await _acquire(self.inner)
        agen: Any = None
        sent = 0
        refused = False
        count = self.reservation is not None
        try:
            for attempt in self._attempts():
                agen = start()
                try:
                    first = await agen.__anext__()
                    break
                except UpstreamError as exc:
                    await agen.aclose()
                    agen = None
                    refused = not exc.retryable or attempt > self.retries
                    await _pause_or_raise(self.config, exc, attempt, self.retries)
            # From here on bytes reach the client: never a retry.
            sent += len(first)
            if count:
                scan.feed(first)
            yield first
            async for frame in agen:
                if count:
                    sent += len(frame)
                    scan.feed(frame)
                yield frame
        finally:
            if agen is not None:
                await agen.aclose()
            if slot is not None:
                slot.release()
            if count:
                # Reported usage, else an estimate from what went through; a refusal
                # before any byte used nothing; a client gone before the first byte
                # keeps the estimate reserved at admission (the upstream may have worked).
                tokens = scan.tokens
                used = tokens if tokens is not None else (
                    estimate_tokens(self.request_bytes + sent) if sent else (0 if refused else None)
                )
                await settle(self.reservation, used)

    def __getattr__(self, name: str) -> Any:
        # Anything else an adapter offers (helpers) is the inner one's.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    async def list_models(self) -> Any:
        return await self.inner.list_models()

    def configured_models(self) -> Any:
        return self.inner.configured_models()

    async def fetch_models_raw(self) -> tuple[int, Any] | None:
        return await self.inner.fetch_models_raw()

    def concurrency(self) -> tuple[int | None, float]:
        return self.inner.concurrency()


def guard(adapter: Adapter, key: KeyInfo, request_bytes: int, reservation: Reservation | None = None,
          record: Any = None) -> Adapter:
    """``adapter`` wrapped with whatever limits apply; unchanged when none do.
    ``record`` (chat/requestlog.py) learns how many retries were made."""
    config = adapter.config
    cap, _wait = adapter.concurrency()
    if cap is None and not config.setting("retries") and reservation is None:
        return adapter
    return GuardedAdapter(adapter, key, request_bytes, reservation, record)
