"""Waiting for request log rows (a bounded poll: records are finished after the
client already has its last byte) and the loopback servers the tests share."""
from __future__ import annotations

import time
from typing import Any

import httpx

MESSAGES = [{"role": "user", "content": "hi"}]
WAIT_SECONDS = 10.0  # a bound on the wait, not a speed claim


def rows(count: int, **filters: Any) -> list[Any]:
    """Write the queue until ``count`` rows match ``filters`` (newest first); fails after the bound."""
    from chat import requestlog_writer
    from chat.models import RequestLog

    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        requestlog_writer.flush()
        found = list(RequestLog.objects.filter(**filters).order_by("-started_at", "-id"))
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) == count, [(r.surface, r.status, r.outcome, r.error_code) for r in found]
            return found
        time.sleep(0.05)


def one_row(**filters: Any) -> Any:
    return rows(1, **filters)[0]


def post(base: str, key: str | None, path: str, body: Any, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    headers.update(kwargs.pop("headers", {}))
    return httpx.post(f"{base}{path}", headers=headers, json=body, timeout=20, **kwargs)


def chat(base: str, key: str | None, model: str, *, stream: bool = False, **extra: Any) -> httpx.Response:
    return post(base, key, "/v1/chat/completions", {"model": model, "stream": stream, "messages": MESSAGES, **extra})
