"""Writes the request log queue (chat/requestlog.py) to the database, off the event loop.

One daemon thread per worker process, started by the first queued record. Every
``GATEWAY_REQUEST_LOG_FLUSH_SECONDS`` it takes the queued records, turns them into
rows (client address, bodies masked and capped) and inserts them in batches of
``GATEWAY_REQUEST_LOG_BATCH``. The event loop never waits for it: a slow or
unavailable database only lets the queue grow up to its bound, past which records
are dropped, counted, and reported once per interval. A batch the database
refused is kept and retried first (``request_id`` is unique, so a batch whose
acknowledgement was lost is never inserted twice).

Once an hour (and shortly after it starts) the thread also deletes rows older
than ``GATEWAY_REQUEST_LOG_DAYS``. Every worker does; deleting is idempotent.

Stopping: SIGTERM makes uvicorn finish its open requests, then send the ASGI
lifespan shutdown, on which ``chat/fastpath.py`` calls ``stop()``: the thread stops
and what is still queued is written. The ``atexit`` hook does the same for servers
without lifespan (gateway/asgi.py makes SIGTERM exit through the interpreter, so it
runs under uvicorn too; whichever comes first writes the queue). ``kill
-9`` loses at most the records of the last flush interval (one second by default),
plus a batch being retried while the database is down.
"""
from __future__ import annotations

import atexit
import logging
import os
import random
import threading
import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections

from providers.redact import redact, redact_for

from . import requestlog, services
from .clientaddr import client_ip
from .requestlog import QUEUE, RequestRecord

log = logging.getLogger("gateway.requestlog")

PRUNE_EVERY_SECONDS = 3600.0
_JOIN_SECONDS = 10.0

_lock = threading.Lock()
_pending: list[tuple[Any, ...]] = []


def _text(value: str, limit: int) -> str:
    # PostgreSQL text holds no NUL; client-chosen strings (model ids) may carry one.
    value = value[:limit]
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _body(data: bytes | bytearray | None, record: RequestRecord) -> str:
    if not data:
        return ""
    text = bytes(data[: settings.GATEWAY_REQUEST_LOG_BODY_BYTES]).decode("utf-8", errors="replace")
    text = text.replace("\x00", "\ufffd")
    config = record.extra.get("provider_config")
    if config is not None:
        text = redact_for(text, config)
    return redact(text)  # every provider of the table in use, too


def to_row(record: RequestRecord) -> tuple[Any, ...]:
    """The database row of a finished record, in ``services.COLUMNS`` order."""
    return (
        record.request_id,
        datetime.fromtimestamp(record.started, tz=UTC),
        record.surface,
        _text(record.method, 8),
        _text(record.path, 200),
        record.key_id,
        _text(record.key_name, 64),
        _text(record.provider_name, 64),
        _text(record.provider_type, 32),
        _text(record.requested_model, 200),
        _text(record.upstream_model, 200),
        _text(record.route, 200),
        record.attempts,
        record.stream,
        min(max(record.status, 0), 999),
        record.outcome,
        _text(record.error_code, 64),
        _text(redact(record.error_cause), 500) if record.error_cause else "",
        round(record.latency_ms),
        round(record.ttft_ms) if record.ttft_ms is not None else None,
        record.tokens_in,
        record.tokens_out,
        record.tokens_reasoning,
        min(record.retries, 32767),
        record.bytes_in,
        record.bytes_out,
        client_ip(record.peer, record.forwarded),
        _body(record.request_body, record),
        _body(record.response_body, record),
    )


def _take(limit: int) -> list[RequestRecord]:
    batch: list[RequestRecord] = []
    popleft = QUEUE.popleft
    try:
        while len(batch) < limit:
            batch.append(popleft())
    except IndexError:
        pass
    return batch


class _Health:
    failing = False
    reported_drops = 0
    next_prune = 0.0


_health = _Health()


def _rows(records: list[RequestRecord]) -> list[tuple[Any, ...]]:
    rows = []
    for record in records:
        try:
            rows.append(to_row(record))
        except Exception:  # a bug for one record must not stop the others
            log.exception("request log: a record could not be turned into a row; dropped")
    return rows


def _insert(rows: list[tuple[Any, ...]]) -> None:
    try:
        services.request_log_write(rows=rows)
    except DatabaseError as exc:
        if len(rows) > 1 and not _connection_lost(exc):
            # One bad row (a value the database refuses) must not sink its batch.
            for row in rows:
                try:
                    services.request_log_write(rows=[row])
                except DatabaseError as row_exc:
                    if _connection_lost(row_exc):
                        raise
                    log.exception("request log: the database refused a row; dropped")
            return
        raise


def _connection_lost(exc: BaseException) -> bool:
    from django.db import InterfaceError, OperationalError

    return isinstance(exc, (InterfaceError, OperationalError))


def flush(*, timeout: float = -1) -> int:
    """Write everything queued now; returns the number of rows written. Safe from any
    thread (also the test runner's, which writes the queue itself); on a database
    error the failed batch is kept for the next flush and nothing is raised."""
    global _pending
    if not _lock.acquire(timeout=timeout):
        return 0
    written = 0
    try:
        while True:
            if not _pending:
                _pending = _rows(_take(settings.GATEWAY_REQUEST_LOG_BATCH))
                if not _pending:
                    break
            try:
                _insert(_pending)
            except DatabaseError as exc:
                if not _health.failing:
                    log.error("request log: writing to the database failed (%s); rows stay queued and are "
                              "retried every %ss", type(exc).__name__, settings.GATEWAY_REQUEST_LOG_FLUSH_SECONDS)
                _health.failing = True
                connections["default"].close()  # reconnect on the next try
                break
            if _health.failing:
                log.warning("request log: the database accepts rows again")
                _health.failing = False
            written += len(_pending)
            _pending = []
    finally:
        _lock.release()
    return written


def report_drops() -> None:
    """Log the records dropped since the last report, once per interval at most."""
    total = requestlog.dropped()
    if total > _health.reported_drops:
        log.warning("request log: %(count)s rows dropped (queue full at %(limit)s); %(total)s since start",
                    {"count": total - _health.reported_drops, "limit": settings.GATEWAY_REQUEST_LOG_QUEUE,
                     "total": total})
        _health.reported_drops = total


def prune_if_due(now: float | None = None) -> None:
    now = time.monotonic() if now is None else now
    if now < _health.next_prune:
        return
    _health.next_prune = now + PRUNE_EVERY_SECONDS
    try:
        deleted = services.request_log_prune(days=settings.GATEWAY_REQUEST_LOG_DAYS)
    except DatabaseError as exc:
        log.warning("request log: pruning failed (%s); retried in an hour", type(exc).__name__)
        connections["default"].close()
        return
    if deleted:
        log.info("request log: %s rows older than %s days deleted", deleted, settings.GATEWAY_REQUEST_LOG_DAYS)


class _Writer:
    thread: threading.Thread | None = None
    stop = threading.Event()


_writer = _Writer()


def _run() -> None:
    interval = settings.GATEWAY_REQUEST_LOG_FLUSH_SECONDS
    # Workers started together do not all prune at once.
    _health.next_prune = time.monotonic() + random.uniform(interval, 60.0)
    while not _writer.stop.wait(interval):
        try:
            flush()
            report_drops()
            prune_if_due()
        except Exception:
            log.exception("request log: the writer failed; it goes on")
        finally:
            # As after a Django request: kept open under CONN_MAX_AGE (PostgreSQL in
            # production), closed otherwise (SQLite: no descriptor held between flushes).
            close_old_connections()
    connections.close_all()


def start() -> None:
    """Start this process's writer thread (once; again in a forked child)."""
    requestlog.set_waker(None)
    if _writer.thread is not None and _writer.thread.is_alive():
        return
    _writer.stop = threading.Event()
    _writer.thread = threading.Thread(target=_run, name="request-log-writer", daemon=True)
    _writer.thread.start()


def stop() -> None:
    """Stop the thread and write what is queued (atexit; tests)."""
    thread = _writer.thread
    _writer.stop.set()
    if thread is not None:
        thread.join(_JOIN_SECONDS)
        _writer.thread = None
    try:
        flush(timeout=_JOIN_SECONDS)
        report_drops()
    finally:
        connections.close_all()


def _after_fork() -> None:
    _writer.thread = None
    _writer.stop = threading.Event()
    requestlog.set_waker(start)


def install() -> None:
    """Called by the app config: the first queued record starts the writer."""
    if not (settings.GATEWAY_REQUEST_LOG and settings.GATEWAY_REQUEST_LOG_WRITER):
        return
    requestlog.set_waker(start)
    os.register_at_fork(after_in_child=_after_fork)
    atexit.register(_atexit)


def _atexit() -> None:
    if _writer.thread is not None or QUEUE or _pending:
        stop()


def pending() -> int:
    """Records queued or held for a retry (for tests and stats)."""
    return len(QUEUE) + len(_pending)


def reset_for_tests() -> Any:
    global _pending
    with _lock:
        QUEUE.clear()
        _pending = []
        _health.failing = False
        _health.reported_drops = requestlog.dropped()
