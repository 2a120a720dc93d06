"""The configuration version: one counter that tells every gateway process that
providers or gateway keys changed. This module is its one owner.

Writers call ``bump()`` (the services do, and the signal receivers in
``signals.py`` do for changes made elsewhere: admin M2M edits, the ORM in a
shell). A write bumps the shared ``ConfigVersion`` row **once**, however many
rows and signals it touches: a bump already pending in the current transaction
makes later ones no-ops. When the transaction commits, the processes' routing
tables learn of it:

- this process at once, through the callbacks registered with ``on_change``
  (``routing.invalidate_local``);
- other processes within ``GATEWAY_CONFIG_REFRESH_SECONDS``: their routing table
  compares ``read_shared()`` with the version it holds, off the request path.

With ``REDIS_URL`` the committed version is also published in the shared cache,
so each process's periodic check is one Redis GET instead of a database query on
a fresh connection. The database stays the source of truth: it is read when the
cache has no value, and at least every ``VERSION_DB_RECHECK_SECONDS`` in case a
publication was lost.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import F

log = logging.getLogger("gateway.routing")

VERSION_CACHE_KEY = "gw:config-version"
VERSION_DB_RECHECK_SECONDS = 30.0

_listeners: list[Callable[[], None]] = []


class _State:
    last_db_read = 0.0


_state = _State()


def on_change(callback: Callable[[], None]) -> None:
    """Call ``callback`` (from any thread) after each committed bump made in this process."""
    if callback not in _listeners:
        _listeners.append(callback)


class _Committed:
    """The on-commit hook of one bump; its presence in the transaction's pending
    hooks is what marks the bump as already made."""

    __slots__ = ("version",)

    def __init__(self, version: int | None) -> None:
        self.version = version

    def __call__(self) -> None:
        for callback in list(_listeners):
            callback()
        if self.version is not None:
            publish(self.version)


def _pending(using: str) -> bool:
    connection = connections[using]
    return connection.in_atomic_block and any(
        isinstance(entry[1], _Committed) for entry in connection.run_on_commit  # (savepoint ids, func, robust)
    )


def bump(using: str = DEFAULT_DB_ALIAS) -> None:
    """Record that providers or keys changed: once per transaction (a hook of a
    rolled-back savepoint is dropped with it, so the next bump counts again)."""
    if _pending(using):
        return
    from .models import ConfigVersion

    rows = ConfigVersion.objects.using(using)
    if not rows.filter(pk=1).update(version=F("version") + 1):
        rows.get_or_create(pk=1, defaults={"version": 1})
    version = None
    if settings.REDIS_URL:
        # The row is locked by this transaction until it ends: this is our version.
        version = int(rows.filter(pk=1).values_list("version", flat=True).first() or 0)
    transaction.on_commit(_Committed(version), using=using)


def read() -> int:
    """The committed version in the database (sync)."""
    from .models import ConfigVersion

    row = ConfigVersion.objects.filter(pk=1).values_list("version", flat=True).first()
    return int(row or 0)


def _shared_cache() -> Any | None:
    if not getattr(settings, "REDIS_URL", ""):
        return None
    from django.core.cache import cache

    return cache


def publish(version: int) -> None:
    """Announce a committed version to every process (no-op without Redis)."""
    cache = _shared_cache()
    if cache is None:
        return
    try:
        cache.set(VERSION_CACHE_KEY, version, timeout=None)
    except Exception:  # noqa: BLE001 -- the shared cache is optional
        log.warning("publishing the configuration version to the cache failed; the database check will find it")


def read_shared(current: int | None) -> int:
    """The version to compare with ``current`` (sync; run it in a thread)."""
    cache = _shared_cache()
    now = time.monotonic()
    if cache is not None and now - _state.last_db_read < VERSION_DB_RECHECK_SECONDS:
        try:
            value = cache.get(VERSION_CACHE_KEY)
        except Exception:  # noqa: BLE001 -- the shared cache is optional
            value = None
        if value is not None:
            # Versions only grow: a value below the table's is an old publication.
            return int(value) if current is None or int(value) > current else current
    version = read()
    _state.last_db_read = now
    if cache is not None:
        try:
            value = cache.get(VERSION_CACHE_KEY)
            if value is None or int(value) > version:  # missing, or left from a database since recreated
                cache.set(VERSION_CACHE_KEY, version, timeout=None)
        except Exception:  # noqa: BLE001 -- the shared cache is optional
            pass
    return version


def reset_for_tests() -> None:
    _state.last_db_read = 0.0
