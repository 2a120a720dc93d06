"""Passive health of upstream targets (``<provider>/<model>``): a circuit breaker each.

- Every answer or failure of a target is counted in a sliding window
  (``GATEWAY_HEALTH_WINDOW_SECONDS``, in twelve buckets). Failures are connect
  errors, timeouts, 5xx and 429; client errors (4xx) count as neither.
- At ``GATEWAY_HEALTH_FAILURE_THRESHOLD`` failures in the window the target cools
  down for ``GATEWAY_HEALTH_COOLDOWN_SECONDS``; a 429 with ``Retry-After`` cools
  it down for that long at once (at most ``GATEWAY_HEALTH_MAX_RETRY_AFTER``).
- When the cooldown is over the target is half-open: one request (the trial) may
  use it; its success closes the breaker, its failure opens it again.
- With ``REDIS_URL`` every process pushes its counts and cooldowns to Redis and
  pulls the others' in a background task every ``GATEWAY_HEALTH_SYNC_SECONDS``
  (``sync_once``, in a worker thread). The request path only reads and writes
  this process's memory: a slow or dead Redis never slows a request.

A provider's state (the admin list, ``/api/providers/``) is the worst of its targets'.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TypedDict

from django.conf import settings

log = logging.getLogger("gateway.health")

BUCKETS = 12
MAX_TARGETS = 10_000  # a bound on what one process remembers (targets come from the configuration)


def target_key(provider: str, model: str) -> str:
    return f"{provider}/{model}"


@dataclass
class _Target:
    buckets: dict[int, list[int]] = field(default_factory=dict)  # bucket -> [failures, successes] (local)
    pending: list[int] = field(default_factory=lambda: [0, 0])  # not yet pushed to Redis
    shared: list[int] | None = None  # window totals in Redis at the last pull (every process's)
    cooling_until: float = 0.0  # wall clock
    opened_at: float = 0.0
    reason: str = ""
    trial_until: float = 0.0  # a half-open trial is under way until then
    failing_since: float | None = None
    last_error: str = ""
    last_error_at: float | None = None
    publish: dict[str, Any] | None = None  # a cooldown to push to Redis
    closed_at: float = 0.0  # when a trial closed the breaker here (pushed to Redis)


class HealthState(TypedDict):
    """What the admin and the REST API show of a target or a provider."""

    state: str  # "healthy", "failing", "cooling_down", "half_open"
    cooling_down_until: float | None  # Unix time
    failing_since: float | None
    last_error: str
    last_error_at: float | None
    error_rate: float | None  # failures / answers in the window; None without traffic
    requests: int  # answers and failures in the window


_targets: dict[str, _Target] = {}
_lock = threading.Lock()  # the sync thread and the event loop both touch _targets


def _bucket_seconds() -> float:
    return max(0.1, settings.GATEWAY_HEALTH_WINDOW_SECONDS / BUCKETS)


def _get(key: str) -> _Target:
    target = _targets.get(key)
    if target is None:
        if len(_targets) >= MAX_TARGETS:
            _targets.pop(next(iter(_targets)))
        target = _targets[key] = _Target()
    return target


def _window_counts(target: _Target, now: float) -> tuple[int, int]:
    """(failures, successes) in the window: every process's when Redis is shared."""
    if target.shared is not None:
        return target.shared[0] + target.pending[0], target.shared[1] + target.pending[1]
    first = int(now / _bucket_seconds()) - BUCKETS + 1
    failures = successes = 0
    for index, (f, s) in list(target.buckets.items()):
        if index < first:
            del target.buckets[index]
        else:
            failures += f
            successes += s
    return failures, successes


def available(key: str, now: float | None = None) -> bool:
    """May a request be sent to this target now (closed, or half-open with no trial under way)?"""
    target = _targets.get(key)
    if target is None or not target.cooling_until:
        return True
    now = time.time() if now is None else now
    return now >= target.cooling_until and now >= target.trial_until


def claim(key: str, trial_seconds: float) -> None:
    """The request that chose ``key`` takes the half-open trial, if there is one."""
    target = _targets.get(key)
    if target is not None and target.cooling_until:
        target.trial_until = time.time() + max(1.0, trial_seconds)


def recovers_at(key: str) -> float:
    target = _targets.get(key)
    return target.cooling_until if target is not None else 0.0


def record_success(key: str) -> None:
    now = time.time()
    target = _get(key)
    _count(target, now, ok=True)
    target.failing_since = None
    if target.cooling_until:
        # Only an answer from the target itself closes the breaker (the trial, or a
        # request that named the target directly): the backend is evidently back.
        log.info("target=%s healthy again", key)
        target.cooling_until = target.trial_until = target.opened_at = 0.0
        target.reason = ""
        target.closed_at = now
        target.publish = None
        for bucket in target.buckets.values():  # the window starts again: old failures are settled
            bucket[0] = 0
    _ensure_sync()


def record_failure(key: str, error: str, *, retry_after: float | None = None) -> None:
    """Count a failure (``error``: a short secret-free cause); cool down past the threshold."""
    now = time.time()
    target = _get(key)
    _count(target, now, ok=False)
    target.last_error = error[:200]
    target.last_error_at = now
    if target.failing_since is None:
        target.failing_since = now
    failures, _successes = _window_counts(target, now)
    if retry_after is not None and retry_after > 0:
        _open(key, target, now, min(retry_after, settings.GATEWAY_HEALTH_MAX_RETRY_AFTER), "retry_after")
    elif target.cooling_until and now >= target.cooling_until:
        _open(key, target, now, settings.GATEWAY_HEALTH_COOLDOWN_SECONDS, "trial_failed")  # the trial failed
    elif failures >= settings.GATEWAY_HEALTH_FAILURE_THRESHOLD and now >= target.cooling_until:
        _open(key, target, now, settings.GATEWAY_HEALTH_COOLDOWN_SECONDS, "failures")
    _ensure_sync()


def _count(target: _Target, now: float, *, ok: bool) -> None:
    index = int(now / _bucket_seconds())
    bucket = target.buckets.get(index)
    if bucket is None:
        bucket = target.buckets[index] = [0, 0]
        first = index - BUCKETS + 1
        for old in [i for i in target.buckets if i < first]:
            del target.buckets[old]
    slot = 1 if ok else 0
    bucket[slot] += 1
    target.pending[slot] += 1


def _open(key: str, target: _Target, now: float, seconds: float, reason: str) -> None:
    until = now + seconds
    if until <= target.cooling_until:
        return
    log.warning("target=%s cooling down for %.1fs (%s): %s", key, seconds, reason, target.last_error)
    target.cooling_until = until
    target.opened_at = now
    target.trial_until = 0.0
    target.reason = reason
    target.publish = {"until": until, "opened": now, "reason": reason, "error": target.last_error}


# What the admin and the API show ------------------------------------------------------


def target_state(key: str, now: float | None = None) -> HealthState:
    now = time.time() if now is None else now
    target = _targets.get(key)
    if target is None:
        return _healthy()
    failures, successes = _window_counts(target, now)
    total = failures + successes
    if target.cooling_until and now < target.cooling_until:
        state = "cooling_down"
    elif target.cooling_until:
        state = "half_open"
    elif target.failing_since is not None:
        state = "failing"
    else:
        state = "healthy"
    return HealthState(
        state=state,
        cooling_down_until=target.cooling_until or None,
        failing_since=target.failing_since,
        last_error=target.last_error,
        last_error_at=target.last_error_at,
        error_rate=round(failures / total, 4) if total else None,
        requests=total,
    )


def _healthy() -> HealthState:
    return HealthState(state="healthy", cooling_down_until=None, failing_since=None, last_error="",
                       last_error_at=None, error_rate=None, requests=0)


_SEVERITY = {"healthy": 0, "failing": 1, "half_open": 2, "cooling_down": 3}


def provider_state(name: str) -> HealthState:
    """The worst state of the provider's targets; the error rate over all of them."""
    refresh_for_display()
    now = time.time()
    prefix = name + "/"
    states = [target_state(key, now) for key in list(_targets) if key.startswith(prefix)]
    if not states:
        return _healthy()
    worst = max(states, key=lambda s: (_SEVERITY[s["state"]], s["cooling_down_until"] or 0))
    requests = sum(s["requests"] for s in states)
    failures = sum(round((s["error_rate"] or 0) * s["requests"]) for s in states)
    latest = max(states, key=lambda s: s["last_error_at"] or 0)
    since = [s["failing_since"] for s in states if s["failing_since"] is not None]
    return HealthState(
        state=worst["state"],
        cooling_down_until=worst["cooling_down_until"] if worst["state"] in ("cooling_down", "half_open") else None,
        failing_since=min(since) if since else None,
        last_error=latest["last_error"],
        last_error_at=latest["last_error_at"],
        error_rate=round(failures / requests, 4) if requests else None,
        requests=requests,
    )


def refresh_for_display() -> None:
    """Outside the request path (admin, API, commands): pull the shared state now, when
    Redis is configured and the last pull is older than one sync period."""
    if not _shared_enabled() or time.monotonic() - _sync.last_pull < settings.GATEWAY_HEALTH_SYNC_SECONDS:
        return
    try:
        sync_once()
    except Exception:  # noqa: BLE001 -- a display falls back to this process's own state
        log.warning("reading the shared health state from Redis failed; showing this process's own")


# Sharing through Redis ---------------------------------------------------------------


class _Sync:
    task: Any = None
    loop: Any = None
    last_pull = 0.0


_sync = _Sync()


def _shared_enabled() -> bool:
    return bool(getattr(settings, "REDIS_URL", ""))


def _ensure_sync() -> None:
    """Start this process's background exchange with Redis (once per event loop)."""
    if not _shared_enabled():
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    if _sync.task is not None and _sync.loop is loop and not _sync.task.done():
        return
    _sync.loop = loop
    _sync.task = loop.create_task(_sync_forever())


def start_sync() -> None:
    """Called by the router when it first sees a route, so cooldowns of other processes
    are known before this one has sent anything."""
    _ensure_sync()


async def _sync_forever() -> None:
    while True:
        try:
            await asyncio.to_thread(sync_once)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 -- Redis down: keep counting alone, retry later
            log.warning("health sync with Redis failed (%s); this process counts alone until it works",
                        type(exc).__name__)
        await asyncio.sleep(settings.GATEWAY_HEALTH_SYNC_SECONDS)


def _redis() -> tuple[Any, Any]:
    from django.core.cache import cache

    return cache, cache._cache.get_client(None, write=True)  # type: ignore[attr-defined]


def sync_once() -> None:
    """Push this process's counts and cooldowns to Redis and pull every process's (sync)."""
    cache, client = _redis()
    now = time.time()
    width = _bucket_seconds()
    index = int(now / width)
    ttl = int(settings.GATEWAY_HEALTH_WINDOW_SECONDS * 2) + 5
    with _lock:
        pushes = []
        for key, target in list(_targets.items()):
            failures, successes = target.pending
            target.pending = [0, 0]
            publish, target.publish = target.publish, None
            closed, target.closed_at = target.closed_at, 0.0
            pushes.append((key, failures, successes, publish, closed, target.last_error, target.last_error_at,
                           target.failing_since))
    known = cache.make_key("gw:health:targets")
    pipe = client.pipeline(transaction=False)
    for key, failures, successes, publish, closed, error, error_at, since in pushes:
        pipe.sadd(known, key)
        if failures or successes:
            bucket = cache.make_key(f"gw:health:b:{key}:{index}")
            if failures:
                pipe.hincrby(bucket, "f", failures)
            if successes:
                pipe.hincrby(bucket, "s", successes)
            pipe.expire(bucket, ttl)
        if failures and error_at:
            pipe.set(cache.make_key(f"gw:health:err:{key}"),
                     json.dumps({"error": error, "at": error_at, "since": since}), ex=ttl * 10)
        if publish is not None:
            seconds = max(1, int(publish["until"] - now) + ttl)
            pipe.set(cache.make_key(f"gw:health:cool:{key}"), json.dumps(publish), ex=seconds)
        if closed:
            pipe.delete(cache.make_key(f"gw:health:cool:{key}"))
            pipe.set(cache.make_key(f"gw:health:closed:{key}"), closed, ex=ttl * 10)
    pipe.expire(known, ttl * 10)
    pipe.execute()
    names = sorted(m.decode() if isinstance(m, bytes) else str(m) for m in client.smembers(known))[:MAX_TARGETS]
    pipe = client.pipeline(transaction=False)
    for key in names:
        for i in range(index - BUCKETS + 1, index + 1):
            pipe.hgetall(cache.make_key(f"gw:health:b:{key}:{i}"))
        pipe.get(cache.make_key(f"gw:health:cool:{key}"))
        pipe.get(cache.make_key(f"gw:health:closed:{key}"))
        pipe.get(cache.make_key(f"gw:health:err:{key}"))
    results = pipe.execute()
    step = BUCKETS + 3
    with _lock:
        for n, key in enumerate(names):
            part = results[n * step:(n + 1) * step]
            closed = part[BUCKETS + 1]
            # Failures from before the breaker last closed do not count again.
            start = int(float(closed) / width) + 1 if closed else 0
            indexed = zip(range(index - BUCKETS + 1, index + 1), part[:BUCKETS], strict=True)
            buckets = [h for i, h in indexed if i >= start]
            failures = sum(int(h.get(b"f", 0)) for h in buckets)
            successes = sum(int(h.get(b"s", 0)) for h in part[:BUCKETS])
            _merge(key, failures, successes, part[BUCKETS], part[BUCKETS + 1], part[BUCKETS + 2], time.time())
    _sync.last_pull = time.monotonic()


def _merge(key: str, failures: int, successes: int, cool: Any, closed: Any, err: Any, now: float) -> None:
    target = _get(key)
    target.shared = [failures, successes]
    if err:
        info = json.loads(err)
        if (info.get("at") or 0) > (target.last_error_at or 0):
            target.last_error, target.last_error_at = info.get("error", ""), info.get("at")
            if target.failing_since is None and info.get("since"):
                target.failing_since = info["since"]
    closed_at = float(closed) if closed else 0.0
    if cool:
        info = json.loads(cool)
        if info["until"] > target.cooling_until and info["opened"] > closed_at:
            target.cooling_until = info["until"]
            target.opened_at = info["opened"]
            target.reason = info.get("reason", "")
            target.trial_until = 0.0
    elif target.cooling_until and closed_at and target.opened_at <= closed_at:
        # Another process's trial found the target back.
        target.cooling_until = target.trial_until = target.opened_at = 0.0
        target.failing_since = None
    if closed_at and target.failing_since is not None and target.failing_since <= closed_at:
        target.failing_since = None
    if not target.cooling_until and target.publish is None and failures + target.pending[0] >= \
            settings.GATEWAY_HEALTH_FAILURE_THRESHOLD and target.failing_since is not None:
        # Failures seen by several processes together cross the threshold.
        _open(key, target, now, settings.GATEWAY_HEALTH_COOLDOWN_SECONDS, "failures")


def reset_for_tests() -> None:
    with _lock:
        _targets.clear()
    task = _sync.task
    if task is not None and not task.done():
        try:
            task.cancel()
        except RuntimeError:
            pass  # its loop is closed
    _sync.task = _sync.loop = None
    _sync.last_pull = 0.0
