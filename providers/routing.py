"""The in-process routing table the /v1 hot path reads.

Provider rows (with decrypted secrets and defaults applied) and gateway-key
hashes are loaded into memory once, so a request touches neither the ORM nor the
cipher. The table is reloaded:

- at once in this process when a provider or key changes here (``invalidate_local``);
- within ``GATEWAY_CONFIG_REFRESH_SECONDS`` when another process changed something:
  a background task compares the shared configuration version (``config_version.py``),
  off the request path.

Database work runs in worker threads; the event loop never blocks on it.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections

from . import catalog, config_version, redact, selectors
from .adapters.base import Adapter, ProviderConfig
from .key_controls import ModelMatcher, compile_patterns
from .provider_settings import effective_settings

log = logging.getLogger("gateway.routing")


@dataclass(frozen=True)
class KeyInfo:
    id: int
    name: str
    provider_ids: frozenset[int] | None  # None: every provider (the key's explicit flag); never inferred
    rate_limit_rpm: int | None
    rate_limit_tpm: int | None
    record_bodies: bool = False  # the request log keeps this key's bodies (chat/requestlog.py)
    expires_at: float | None = None  # a Unix time; None: never
    allowed_models: tuple[str, ...] = ()  # patterns (providers/key_controls.py); empty: every model
    requests_per_day: int | None = None  # budgets over UTC calendar windows (chat/budgets.py); None: unlimited
    requests_per_month: int | None = None
    tokens_per_day: int | None = None
    tokens_per_month: int | None = None
    _matcher: ModelMatcher | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_matcher", compile_patterns(self.allowed_models))

    def may_use(self, provider_id: int) -> bool:
        return self.provider_ids is None or provider_id in self.provider_ids

    def allows_model(self, model_id: str) -> bool:
        """Whether the key's model allowlist lets it use ``model_id``, the id a client
        sends (``<provider>/<model>`` or a route name). Its providers are checked apart."""
        matcher = self._matcher
        return matcher is None or matcher(model_id)

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    @property
    def no_provider_left(self) -> bool:
        """Restricted to providers that were all deleted: refused everywhere, never widened."""
        return self.provider_ids is not None and not self.provider_ids


@dataclass(frozen=True)
class RouteTargetInfo:
    """One target of a route as the hot path sees it; ``key`` names its health record."""

    provider: str
    model: str  # the upstream model id (the provider's default filled in)
    priority: int
    weight: int
    key: str  # "<provider>/<model>"


@dataclass(frozen=True)
class RouteInfo:
    """An enabled route: its targets grouped by priority, best first, and its limits
    (the gateway defaults filled in where the route leaves them empty)."""

    id: int
    name: str
    groups: tuple[tuple[RouteTargetInfo, ...], ...]
    max_attempts: int
    deadline: float
    first_byte_timeout: float
    fallback_on_client_errors: bool
    created: int = 0

    @property
    def targets(self) -> tuple[RouteTargetInfo, ...]:
        return tuple(t for group in self.groups for t in group)


@dataclass
class Snapshot:
    version: int
    providers: dict[str, ProviderConfig]
    keys: dict[str, KeyInfo]
    adapters: dict[str, Adapter] = field(default_factory=dict)
    routes: dict[str, RouteInfo] = field(default_factory=dict)

    def adapter(self, config: ProviderConfig) -> Adapter:
        adapter = self.adapters.get(config.name)
        if adapter is None:
            adapter = catalog.adapter_class(config.provider_type)(config)
            self.adapters[config.name] = adapter
        return adapter


def provider_config(provider: Any) -> ProviderConfig:
    """Build the hot-path view of a Provider row (decrypts its secrets)."""
    ptype = catalog.get_type(provider.provider_type)
    return ProviderConfig(
        id=provider.pk,
        name=provider.name,
        provider_type=provider.provider_type,
        base_url=(provider.base_url or ptype.default_base_url).rstrip("/"),
        api_key=provider.api_key or None,
        extra_headers=dict(provider.extra_headers or {}),
        # Adapters read the secret maps (extra_query, env) as ordinary settings.
        settings=effective_settings(ptype, {**(provider.settings or {}), **(provider.secret_settings or {})}),
        enabled=provider.enabled,
        created=int(provider.created_at.timestamp()) if provider.created_at else 0,
    )


def load_snapshot() -> Snapshot:
    """Read every provider and active key (sync; run it in a thread from async code)."""
    version = config_version.read()
    providers: dict[str, ProviderConfig] = {}
    for provider in selectors.routing_providers():
        try:
            providers[provider.name] = provider_config(provider)
        except Exception:  # a broken row must not take every other provider down
            log.exception("provider %s could not be loaded; it is skipped", provider.name)
    keys: dict[str, KeyInfo] = {}
    for key in selectors.routing_keys():
        keys[key.key_hash] = KeyInfo(
            id=key.pk,
            name=key.name,
            provider_ids=None if key.all_providers else frozenset(p.pk for p in key.providers.all()),
            rate_limit_rpm=key.rate_limit_rpm,
            rate_limit_tpm=key.rate_limit_tpm,
            record_bodies=key.record_bodies,
            expires_at=key.expires_at.timestamp() if key.expires_at else None,
            allowed_models=tuple(key.allowed_models or ()),
            requests_per_day=key.requests_per_day,
            requests_per_month=key.requests_per_month,
            tokens_per_day=key.tokens_per_day,
            tokens_per_month=key.tokens_per_month,
        )
    return Snapshot(version=version, providers=providers, keys=keys, routes=load_routes(providers))


def load_routes(providers: dict[str, ProviderConfig]) -> dict[str, RouteInfo]:
    """Every enabled route with the targets whose provider loaded (sync)."""
    routes: dict[str, RouteInfo] = {}
    for route in selectors.routing_routes():
        by_priority: dict[int, list[RouteTargetInfo]] = {}
        for target in route.targets.all():
            config = providers.get(target.provider.name)
            model = target.model or (config.setting("default_model") or "" if config is not None else "")
            if config is None or not model:
                log.warning("route %s: target %s skipped (provider not loaded or no model)", route.name, target.pk)
                continue
            by_priority.setdefault(target.priority, []).append(RouteTargetInfo(
                provider=config.name, model=model, priority=target.priority, weight=max(1, target.weight),
                key=f"{config.name}/{model}",
            ))
        routes[route.name] = RouteInfo(
            id=route.pk,
            name=route.name,
            groups=tuple(tuple(by_priority[p]) for p in sorted(by_priority)),
            max_attempts=route.max_attempts or settings.GATEWAY_ROUTE_MAX_ATTEMPTS,
            deadline=route.deadline_seconds or settings.GATEWAY_ROUTE_DEADLINE_SECONDS,
            first_byte_timeout=route.first_byte_timeout or settings.GATEWAY_ROUTE_FIRST_BYTE_TIMEOUT,
            fallback_on_client_errors=route.fallback_on_client_errors,
            created=int(route.created_at.timestamp()) if route.created_at else 0,
        )
    return routes


def _in_thread(fn: Any) -> Any:
    def run() -> Any:
        close_old_connections()
        try:
            return fn()
        finally:
            connections.close_all()

    return run


class _State:
    snapshot: Snapshot | None = None
    dirty = True
    generation = 0  # bumped by every local invalidation
    last_check = 0.0
    checking = False
    check_task: Any = None
    lock: asyncio.Lock | None = None
    lock_loop: Any = None
    used: dict[int, float] = {}
    flush_loop: Any = None  # the loop a last-used flush is scheduled on, if any
    flush_task: Any = None


_state = _State()
_thread_lock = threading.Lock()


def invalidate_local() -> None:
    """Mark the table stale; the next request reloads it. Safe from any thread."""
    with _thread_lock:
        _state.dirty = True
        _state.generation += 1


config_version.on_change(invalidate_local)
redact.use_table(lambda: _state.snapshot)  # what /v1 errors and log lines are masked against


def _lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    if _state.lock is None or _state.lock_loop is not loop:
        _state.lock = asyncio.Lock()
        _state.lock_loop = loop
    return _state.lock


async def _reload() -> Snapshot:
    old = _state.snapshot
    generation = _state.generation
    snap = await asyncio.to_thread(_in_thread(load_snapshot))
    if old is not None:
        # Keep adapters whose provider did not change (pooled agents, caches).
        for name, adapter in old.adapters.items():
            if snap.providers.get(name) == adapter.config:
                snap.adapters[name] = adapter
            else:
                asyncio.get_running_loop().create_task(_close_quietly(adapter))
    _state.snapshot = snap
    with _thread_lock:
        if _state.generation == generation:
            _state.dirty = False
    _state.last_check = time.monotonic()
    if snap.routes:
        # Routes choose by health: learn the other processes' cooldowns before this
        # one has sent anything (a no-op without Redis, or when already running).
        from .health import breaker

        breaker.start_sync()
    return snap


async def _close_quietly(adapter: Adapter) -> None:
    try:
        await adapter.aclose()
    except Exception:
        log.exception("closing adapter of %s failed", adapter.config.name)


async def _check_remote() -> None:
    try:
        current = _state.snapshot.version if _state.snapshot is not None else None
        version = await asyncio.to_thread(_in_thread(lambda: config_version.read_shared(current)))
        if _state.snapshot is None or version != _state.snapshot.version:
            async with _lock():
                await _reload()
        await _flush_last_used()
    except Exception:
        log.exception("refreshing the routing table failed; the previous one stays in use")
    finally:
        _state.last_check = time.monotonic()
        _state.checking = False


async def get_snapshot() -> Snapshot:
    """The current routing table. Loads it on first use or after a local change;
    otherwise schedules a background version check at most once per refresh period."""
    snap = _state.snapshot
    if snap is None or _state.dirty:
        async with _lock():
            if _state.snapshot is None or _state.dirty:
                return await _reload()
            return _state.snapshot
    now = time.monotonic()
    if not _state.checking and now - _state.last_check >= settings.GATEWAY_CONFIG_REFRESH_SECONDS:
        _state.checking = True
        _state.check_task = asyncio.get_running_loop().create_task(_check_remote())
    return snap


async def get_fresh_snapshot() -> Snapshot:
    """Like ``get_snapshot``, but when a version check is due, wait for it.

    For lookups that missed (an unknown gateway key): a key just created by
    another process works on its first request once the refresh period has
    passed. Checks still run at most once per period, so unknown keys cannot
    hammer the database."""
    snap = await get_snapshot()
    task = _state.check_task
    if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
        await asyncio.shield(task)
        return _state.snapshot or snap
    return snap


def note_key_used(key: KeyInfo) -> None:
    """Remember that a key was used; written to the database in batches.

    The first use after a flush schedules the next flush, one refresh period
    later, so a key used once is recorded even if no other request follows."""
    _state.used[key.id] = time.time()
    flush_loop = _state.flush_loop
    if flush_loop is None or flush_loop.is_closed():
        loop = asyncio.get_running_loop()
        _state.flush_loop = loop
        loop.call_later(settings.GATEWAY_CONFIG_REFRESH_SECONDS, _start_flush)


def _start_flush() -> None:
    _state.flush_task = asyncio.get_running_loop().create_task(_scheduled_flush())


async def _scheduled_flush() -> None:
    # Uses noted from here on schedule the next flush.
    _state.flush_loop = None
    try:
        await _flush_last_used()
    except Exception:
        log.exception("recording gateway key last-used times failed")
    finally:
        _state.flush_task = None


async def _flush_last_used() -> None:
    if not _state.used:
        return
    used, _state.used = _state.used, {}
    from .services import gateway_keys_touch

    when = {key_id: datetime.fromtimestamp(ts, tz=UTC) for key_id, ts in used.items()}
    await asyncio.to_thread(_in_thread(lambda: gateway_keys_touch(used=when)))


def reset_for_tests() -> None:
    from .health import breaker

    breaker.reset_for_tests()
    _state.snapshot = None
    config_version.reset_for_tests()
    _state.dirty = True
    _state.used = {}
    _state.flush_loop = None
    _state.flush_task = None
    _state.check_task = None
    _state.lock = None


def key_allows_model(key: KeyInfo, model_id: str) -> bool:
    """For /v1/models filtering and route resolution: ``key``'s allowlist admits ``model_id``."""
    return key.allows_model(model_id)
