"""Reads of the request log, shared by the REST API, the admin's CSV export and
the usage views: one set of filters, one meaning."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from .models import RequestLog

STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")

# What the list views show; the bodies are read only on a detail page.
LIST_FIELDS = (
    "id", "request_id", "started_at", "surface", "method", "path", "key_id", "key_name", "provider_name",
    "provider_type", "requested_model", "upstream_model", "route", "attempts", "stream", "status", "outcome",
    "error_code", "error_cause", "latency_ms", "ttft_ms", "tokens_in", "tokens_out", "tokens_reasoning", "retries",
    "bytes_in", "bytes_out", "client_ip",
)


@dataclass(frozen=True)
class RequestFilters:
    """Each one left ``None`` does not filter."""

    provider: str | None = None
    key: str | None = None  # a key's name
    key_id: int | None = None
    model: str | None = None  # the model the client asked for, or the upstream model
    status: int | None = None
    status_class: str | None = None  # "2xx" ... "5xx"
    outcome: str | None = None
    surface: str | None = None
    stream: bool | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    search: str | None = None  # in the model ids, the error code and cause


def status_class_q(value: str) -> Q:
    first = int(value[0])
    return Q(status__gte=first * 100, status__lt=(first + 1) * 100)


def search_q(text: str) -> Q:
    return (Q(requested_model__icontains=text) | Q(upstream_model__icontains=text)
            | Q(error_code__icontains=text) | Q(error_cause__icontains=text))


def request_log_list(filters: RequestFilters | None = None, *, with_bodies: bool = False) -> QuerySet[RequestLog]:
    """Rows, newest first, narrowed by ``filters``."""
    qs = RequestLog.objects.all() if with_bodies else RequestLog.objects.only(*LIST_FIELDS)
    f = filters or RequestFilters()
    exact = {
        "provider_name": f.provider, "key_name": f.key, "key_id": f.key_id, "status": f.status,
        "outcome": f.outcome, "surface": f.surface, "stream": f.stream,
        "started_at__gte": f.since, "started_at__lt": f.until,
    }
    qs = qs.filter(**{name: value for name, value in exact.items() if value is not None})
    if f.model:
        qs = qs.filter(Q(requested_model=f.model) | Q(upstream_model=f.model))
    if f.status_class:
        qs = qs.filter(status_class_q(f.status_class))
    if f.search:
        qs = qs.filter(search_q(f.search))
    return qs.order_by("-started_at", "-id")
