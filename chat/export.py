"""The request log as CSV (the admin's export of a filtered list). Bodies are never
exported; a cell a spreadsheet would run as a formula is quoted (model ids and error
causes come from clients and upstreams)."""
from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet

from .models import RequestLog

COLUMNS = (
    "started_at", "request_id", "surface", "key_name", "provider_name", "provider_type", "requested_model",
    "upstream_model", "route", "attempts", "stream", "status", "outcome", "error_code", "error_cause",
    "latency_ms", "ttft_ms", "tokens_in", "tokens_out", "tokens_reasoning", "retries", "bytes_in", "bytes_out",
    "client_ip",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 2000


class _Line:
    """A file-like object that hands back what ``csv.writer`` writes."""

    def write(self, text: str) -> str:
        return text


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def header() -> list[str]:
    label_of = {field.name: field.verbose_name for field in RequestLog._meta.concrete_fields}
    return [str(label_of[name]) for name in COLUMNS]


def csv_lines(rows: QuerySet[RequestLog] | Iterable[RequestLog]) -> Iterator[str]:
    """The header, then one line per row (read in chunks: memory stays bounded)."""
    writer = csv.writer(_Line())
    yield writer.writerow(header())
    items = rows.only(*COLUMNS).iterator(chunk_size=CHUNK) if isinstance(rows, QuerySet) else rows
    for row in items:
        yield writer.writerow([_cell(getattr(row, name)) for name in COLUMNS])
