"""Request log rows made directly (for the tests of reading them: admin, API, export)."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone


def make_row(*, ago: timedelta = timedelta(minutes=1), **fields: Any) -> Any:
    from chat.models import RequestLog

    values: dict[str, Any] = {
        "request_id": secrets.token_hex(16), "started_at": timezone.now() - ago, "surface": "chat",
        "method": "POST", "path": "/v1/chat/completions", "key_id": 1, "key_name": "team-a",
        "provider_name": "local", "provider_type": "custom", "requested_model": "local/text",
        "upstream_model": "text", "stream": False, "status": 200, "outcome": "ok", "latency_ms": 12,
        "ttft_ms": 10, "tokens_in": 5, "tokens_out": 3, "bytes_in": 80, "bytes_out": 300, "client_ip": "127.0.0.1",
    }
    values.update(fields)
    return RequestLog.objects.create(**values)


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=timezone.get_current_timezone())
