"""Request log rows of known values, written as the gateway's writer writes them."""
from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from chat.models import Outcome, RequestLog
from chat.services import request_log_write

# A fixed hour, so buckets are known: 2026-11-27 10:00 UTC.
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def row(*, at: datetime, provider: str = "alpha", key: str = "team-a", key_id: int | None = 1,
        model: str = "alpha/m1", status: int = 200, latency: int = 100, ttft: int | None = 50,
        tokens: tuple[int | None, int | None] = (10, 20), stream: bool = False, **extra: Any) -> RequestLog:
    outcome = extra.pop("outcome", Outcome.OK if status < 400 else
                        Outcome.UPSTREAM_ERROR if status >= 500 else Outcome.CLIENT_ERROR)
    return RequestLog(request_id=os.urandom(16).hex(), started_at=at, surface="chat", method="POST",
                      path="/v1/chat/completions", key_id=key_id, key_name=key, provider_name=provider,
                      provider_type="custom", requested_model=model, upstream_model=model.split("/", 1)[-1],
                      stream=stream, status=status, outcome=outcome, latency_ms=latency, ttft_ms=ttft,
                      tokens_in=tokens[0], tokens_out=tokens[1], **extra)


def scripted() -> None:
    """Two hours of traffic; every number the usage tests expect follows from it.

    10:00-11:00: alpha/m1 by team-a: 4 successes, latencies 100, 200, 300, 400 (TTFT 50 each),
                 tokens 10/20 each; 1 upstream error (503, latency 1000, no TTFT, tokens unknown).
    11:00-12:00: beta/m2 by team-b: 2 successes, latency 500 and 700, TTFT 80 and 90, tokens 5/7
                 each; one 429 refused by a limit (latency 1, no provider, no tokens).
    Outside the period: a row at 09:59 and one at 12:00 (the end is exclusive).
    """
    rows = [row(at=T0 + timedelta(minutes=i), latency=100 * (i + 1)) for i in range(4)]
    rows.append(row(at=T0 + timedelta(minutes=30), status=503, latency=1000, ttft=None, tokens=(None, None)))
    rows += [row(at=T0 + timedelta(hours=1, minutes=5), provider="beta", key="team-b", key_id=2, model="beta/m2",
                 latency=500, ttft=80, tokens=(5, 7)),
             row(at=T0 + timedelta(hours=1, minutes=6), provider="beta", key="team-b", key_id=2, model="beta/m2",
                 latency=700, ttft=90, tokens=(5, 7), stream=True),
             row(at=T0 + timedelta(hours=1, minutes=7), provider="", key="team-b", key_id=2, model="beta/m2",
                 status=429, latency=1, ttft=None, tokens=(None, None), outcome=Outcome.LIMITED,
                 error_code="rate_limit_exceeded")]
    rows += [row(at=T0 - timedelta(minutes=1)), row(at=T0 + timedelta(hours=2))]
    request_log_write(rows=rows)
