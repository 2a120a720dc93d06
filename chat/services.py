"""Writes of the chat app: request log rows (chat/requestlog_writer.py calls these
from its background thread, ``manage.py prune_request_log`` from the shell)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from .models import RequestLog

PRUNE_CHUNK = 5000


# The columns ``request_log_write`` fills, in the order of each row's values.
COLUMNS = (
    "request_id", "started_at", "surface", "method", "path", "key_id", "key_name", "provider_name", "provider_type",
    "requested_model", "upstream_model", "route", "attempts", "stream", "status", "outcome", "error_code",
    "error_cause", "latency_ms", "ttft_ms", "tokens_in", "tokens_out", "tokens_reasoning", "retries", "bytes_in",
    "bytes_out", "client_ip", "request_body", "response_body",
)


def _insert_sql() -> str:
    table = connection.ops.quote_name(RequestLog._meta.db_table)
    column_of = {field.name: str(field.column) for field in RequestLog._meta.concrete_fields}
    columns = ", ".join(connection.ops.quote_name(column_of[name]) for name in COLUMNS)
    marks = ", ".join(["%s"] * len(COLUMNS))
    return f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT (request_id) DO NOTHING"


def request_log_write(*, rows: Sequence[tuple[Any, ...] | RequestLog]) -> None:
    """Insert one batch of rows: tuples of values in ``COLUMNS`` order (the writer's,
    ``started_at`` an aware datetime) or unsaved ``RequestLog`` objects. One prepared
    INSERT for the batch (``executemany``): the ORM's ``bulk_create`` spends several
    times the CPU preparing each field of each object. A retried batch inserts
    nothing twice (``request_id`` is unique)."""
    started = COLUMNS.index("started_at")
    address = COLUMNS.index("client_ip")
    ops = connection.ops
    values = []
    for given in rows:
        row = [getattr(given, name) for name in COLUMNS] if isinstance(given, RequestLog) else list(given)
        row[started] = ops.adapt_datetimefield_value(row[started])
        row[address] = ops.adapt_ipaddressfield_value(row[address])
        values.append(row)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(_insert_sql(), values)


def request_log_prune(*, days: int, now: datetime | None = None) -> int:
    """Delete rows older than ``days`` days, in chunks (short transactions, no long
    lock while workers insert); returns how many. ``days`` 0 keeps everything."""
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted = 0
    while True:
        old = RequestLog.objects.filter(started_at__lt=cutoff).order_by()
        ids = list(old.values_list("pk", flat=True)[:PRUNE_CHUNK])
        if not ids:
            return deleted
        count, _by_model = RequestLog.objects.filter(pk__in=ids).delete()
        deleted += count
