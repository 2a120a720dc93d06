"""Routes on the /v1 hot path: choosing a target and falling back before the first byte.

Choice (``choose``): among the targets of the best priority that this key may use
and whose health allows a request (``providers.health.breaker.available``), one is drawn at
random in proportion to its weight; equal weights therefore share evenly (no
least-in-flight rule: with several gateway processes a local in-flight count
would be a guess, and weights stay exact). The next priority is used only when no
target of a better one is available. When no target at all is available (every
one cooling down), the one whose cooldown ends first is tried anyway: the health
state may be older than the backend's recovery, and refusing outright would turn a
stale state into an outage.

Fallback (``open_stream``, ``complete``): on a connect error, a time-to-first-byte
timeout, a 429 or a 5xx (and on the gateway's own per-provider concurrency cap) the
same request goes to the next target chosen the same way, up to the route's
``max_attempts``, all within its ``deadline``. Nothing is retried once a byte went
to the client. Client errors (400, 401, 403, 404, 422) go to the client unless the
route has ``fallback_on_client_errors``.

Every attempt is recorded on the prepared request (``Prepared.attempts``) and in
the target's health; a request naming ``<provider>/<model>`` directly is one
attempt without fallback, and feeds the same health records.

One loop for every /v1 surface: the request of each attempt is built by ``call``
(``complete``) or ``start`` (``open_stream``) for the target the prepared request
points at then. Chat completions send ``prepared.body`` to ``adapter.complete`` /
``adapter.stream`` (the default); the inbound surfaces (chat/inbound/) send a
backend that speaks their wire its native request and any other one the chat
completions translation, so two attempts of one request may speak different wires.
After the loop, ``prepared`` points at the target that answered (its ``adapter``
says which wire the answer is in).
"""
from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from providers import routing
from providers.adapters.base import Frames, UpstreamError
from providers.health import breaker

from . import limits


@dataclass
class Attempt:
    """One try of a request against one target (for the request log)."""

    target: str  # "<provider>/<model>"
    outcome: str  # ok, connect_error, timeout, rate_limited, server_error, client_error, gateway_limit, error
    status: int | None = None
    cause: str = ""
    duration_ms: float = 0.0


def usable(snap: routing.Snapshot, key: routing.KeyInfo, target: routing.RouteTargetInfo,
           route: routing.RouteInfo) -> bool:
    """May this key's request go to ``target`` at all (provider loaded, enabled, allowed
    to the key, and in its model allowlist by the route's name or the target's id)?"""
    config = snap.providers.get(target.provider)
    if config is None or not config.enabled or not key.may_use(config.id):
        return False
    if key.allowed_models and not (key.allows_model(route.name) or key.allows_model(target.key)):
        return False
    allow = config.setting("allowed_models")
    return not allow or target.model in allow


def choose(snap: routing.Snapshot, key: routing.KeyInfo, route: routing.RouteInfo,
           tried: set[str] | frozenset[str] = frozenset()) -> routing.RouteTargetInfo | None:
    """The next target for a request (see the module docstring), or None when none is left."""
    now = time.time()
    for group in route.groups:
        candidates = [t for t in group
                      if t.key not in tried and usable(snap, key, t, route) and breaker.available(t.key, now)]
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            return random.choices(candidates, weights=[t.weight for t in candidates])[0]
    rest = [t for t in route.targets if t.key not in tried and usable(snap, key, t, route)]
    return min(rest, key=lambda t: breaker.recovers_at(t.key)) if rest else None


def route_visible(snap: routing.Snapshot, key: routing.KeyInfo, route: routing.RouteInfo) -> bool:
    """A route is listed for (and usable by) a key when at least one target is."""
    return any(usable(snap, key, t, route) for t in route.targets)


def classify(exc: BaseException) -> tuple[str, bool, bool]:
    """(outcome, worth another target, a health failure) of an attempt's error."""
    if isinstance(exc, limits.LimitExceeded):
        return "gateway_limit", True, False  # this gateway's own cap on the provider
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timeout", True, True
    if isinstance(exc, UpstreamError):
        if exc.code == "upstream_unreachable":
            return "connect_error", True, True
        if exc.status == 504 or exc.type == "timeout_error":
            return "timeout", True, True
        if exc.status == 429:
            return "rate_limited", True, True
        if exc.status >= 500:
            return "server_error", True, True
        return "client_error", False, False
    return "error", False, False


class Plan:
    """The attempts of one request: which target now, which were tried, how long is left.
    ``prepared`` is a ``chat.gateway.Prepared``; ``retarget`` moves it to a target."""

    def __init__(self, prepared: Any) -> None:
        self.prepared = prepared
        self.route: routing.RouteInfo | None = prepared.route
        self.tried: set[str] = set()
        self.deadline = (asyncio.get_running_loop().time() + self.route.deadline) if self.route else math.inf

    def remaining(self) -> float:
        return self.deadline - asyncio.get_running_loop().time()

    def timeout(self, stream: bool) -> float | None:
        if self.route is None:
            return None
        left = self.remaining()
        return max(0.0, min(self.route.first_byte_timeout, left) if stream else left)

    def failed(self, exc: BaseException, started: float) -> bool:
        """Record a failed attempt; True when the request moved to another target."""
        prepared = self.prepared
        outcome, retry, counts = classify(exc)
        status = exc.status if isinstance(exc, UpstreamError) else (504 if outcome == "timeout" else None)
        cause = exc.cause if isinstance(exc, UpstreamError) else _timeout_cause(exc)
        prepared.attempts.append(Attempt(prepared.target, outcome, status, cause[:200], _ms(started)))
        if counts:
            retry_after = exc.retry_after if isinstance(exc, UpstreamError) and exc.status == 429 else None
            breaker.record_failure(prepared.target, cause, retry_after=retry_after)
        route = self.route
        if route is None:
            return False
        self.note_attempts()
        if not retry and not (outcome == "client_error" and route.fallback_on_client_errors):
            return False
        self.tried.add(prepared.target)
        if len(prepared.attempts) >= route.max_attempts or self.remaining() <= 0:
            return False
        target = choose(prepared.snap, prepared.key, route, self.tried)
        if target is None:
            return False
        retarget(prepared, target)
        return True

    def succeeded(self, started: float) -> None:
        prepared = self.prepared
        prepared.attempts.append(Attempt(prepared.target, "ok", 200, "", _ms(started)))
        prepared.answered_by = prepared.target
        breaker.record_success(prepared.target)
        self.note_attempts()

    def note_attempts(self) -> None:
        """The request log's record counts the targets tried (routes only)."""
        record = self.prepared.record
        if record is not None and self.route is not None:
            record.attempts = len(self.prepared.attempts)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _timeout_cause(exc: BaseException) -> str:
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "time to first byte exceeded"
    return type(exc).__name__


def retarget(prepared: Any, target: routing.RouteTargetInfo) -> None:
    """Point ``prepared`` at ``target``: its provider's adapter with the key's limits;
    the request log's record follows (provider, upstream model)."""
    from .stream_usage import supports_usage_option

    snap = prepared.snap
    config = snap.providers[target.provider]
    record = prepared.record
    prepared.config = config
    prepared.adapter = limits.guard(snap.adapter(config), prepared.key, prepared.request_bytes, prepared.reservation,
                                    record)
    prepared.body = {**prepared.body, "model": target.model}
    if prepared.hide_usage and not supports_usage_option(config):
        prepared.body.pop("stream_options", None)  # only the gateway asked for it; this backend refuses it
    prepared.target = target.key
    if record is not None:
        record.note_route(config, prepared.requested, target.model)
    claim_trial(prepared)


def claim_trial(prepared: Any) -> None:
    """The first target of a route's request may be a half-open one: take its trial."""
    if prepared.route is not None and breaker.recovers_at(prepared.target):
        breaker.claim(prepared.target, prepared.route.deadline)


def _deadline_error() -> UpstreamError:
    return UpstreamError(_("No target of the route answered in time."), status=504, type="timeout_error",
                         code="upstream_timeout", cause="route deadline exceeded")


async def _within(awaitable: Any, timeout: float | None) -> Any:
    if timeout is None:
        return await awaitable
    if timeout <= 0:
        close = getattr(awaitable, "close", None)
        if close is not None:
            close()
        raise TimeoutError
    return await asyncio.wait_for(awaitable, timeout)


# What builds one attempt for the target ``prepared`` points at (see the module docstring).
Call = Callable[[Any], Awaitable[bytes]]
Start = Callable[[Any], Frames]


def chat_call(prepared: Any) -> Awaitable[bytes]:
    return prepared.adapter.complete(prepared.body)


def chat_start(prepared: Any) -> Frames:
    return prepared.adapter.stream(prepared.body)


async def complete(prepared: Any, call: Call = chat_call) -> bytes:
    """A non-streamed answer, falling back across the route's targets; ``call``
    makes each attempt's request (chat completions by default)."""
    plan = Plan(prepared)
    while True:
        started = time.perf_counter()
        try:
            payload = await _within(call(prepared), plan.timeout(stream=False))
        except (TimeoutError, UpstreamError) as exc:
            if plan.failed(exc, started):
                continue
            raise _deadline_error() if isinstance(exc, asyncio.TimeoutError) else exc from None
        plan.succeeded(started)
        return payload


class EmptyStream(Exception):
    """The upstream closed a stream without sending any frame."""


async def open_stream(prepared: Any, start: Start = chat_start) -> tuple[bytes, Frames]:
    """The first frame of a stream and the rest, falling back across the route's targets
    until one sends a frame; raises the last error (or ``EmptyStream``) when none did.
    ``start`` opens each attempt's stream (chat completions by default)."""
    plan = Plan(prepared)
    while True:
        started = time.perf_counter()
        agen = start(prepared)
        try:
            first = await _within(agen.__anext__(), plan.timeout(stream=True))
        except StopAsyncIteration:
            empty = UpstreamError(_("The upstream closed the stream without data."), status=502,
                                  code="upstream_empty_stream", cause="empty stream")
            if plan.failed(empty, started):
                continue
            raise EmptyStream() from None
        except (TimeoutError, UpstreamError) as exc:
            await agen.aclose()
            if plan.failed(exc, started):
                continue
            raise _deadline_error() if isinstance(exc, asyncio.TimeoutError) else exc from None
        except BaseException:
            await agen.aclose()
            raise
        plan.succeeded(started)
        return first, agen
