"""Writes of the chat app: request log rows (chat/requestlog_writer.py calls these
from its background thread, ``manage.py prune_request_log`` from the shell)."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from .models import RequestLog

PRUNE_CHUNK = 5000


def request_log_write(*, rows: list[RequestLog]) -> None:
    """Insert one batch. A retried batch inserts nothing twice (``request_id`` is unique)."""
    with transaction.atomic():
        RequestLog.objects.bulk_create(rows, ignore_conflicts=True)


def request_log_prune(*, days: int, now: datetime | None = None) -> int:
    """Delete rows older than ``days`` days, in chunks (short transactions, no long
    lock while workers insert); returns how many. ``days`` 0 keeps everything."""
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted = 0
    while True:
        ids = list(RequestLog.objects.filter(started_at__lt=cutoff).order_by().values_list("pk", flat=True)[:PRUNE_CHUNK])
        if not ids:
            return deleted
        count, _by_model = RequestLog.objects.filter(pk__in=ids).delete()
        deleted += count
