"""Budgets per gateway key: requests and tokens per UTC calendar day and month.

They are counted like the per-minute rate limits (chat/limits.py), by the same
code: one atomic cache increment per counter at admission (the request, and an
estimate of its tokens), refused when the window was already spent, and the token
estimate settled to the usage the upstream reports once the answer ends. With
``REDIS_URL`` the counters live in Redis, shared by every gateway process;
without it they are per process.

A request over a budget gets 429 with ``code: "quota_exceeded"``, the budget it
hit (``quota``) and when its window resets (``resets_at``, and ``Retry-After`` in
seconds). Only budgets that are set are counted: a budget set in the middle of a
day starts from zero. The admin and the API read the same counters (``usage``).
"""
from __future__ import annotations

import calendar
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from django.core.cache import cache
from django.utils.translation import gettext as _

log = logging.getLogger("gateway.limits")

DAY = "day"
MONTH = "month"
# (field on the key, counter kind, window): the order refusals are looked for in.
BUDGETS: tuple[tuple[str, str, str], ...] = (
    ("requests_per_day", "r", DAY),
    ("requests_per_month", "r", MONTH),
    ("tokens_per_day", "t", DAY),
    ("tokens_per_month", "t", MONTH),
)
# A counter outlives its window by a day, never less (clock skew between processes).
GRACE_SECONDS = 86400


class Budgeted(Protocol):
    """A KeyInfo of the hot path or a GatewayKey row: both carry these."""

    @property
    def id(self) -> Any: ...
    @property
    def requests_per_day(self) -> int | None: ...
    @property
    def requests_per_month(self) -> int | None: ...
    @property
    def tokens_per_day(self) -> int | None: ...
    @property
    def tokens_per_month(self) -> int | None: ...


@dataclass(frozen=True)
class Window:
    label: str  # "20261128" for a day, "202611" for a month (UTC)
    resets_at: int  # Unix time of the next window's start


def window(kind: str, now: float) -> Window:
    t = time.gmtime(now)
    if kind == DAY:
        start = calendar.timegm((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0))
        return Window(f"{t.tm_year:04d}{t.tm_mon:02d}{t.tm_mday:02d}", start + 86400)
    year, month = (t.tm_year + 1, 1) if t.tm_mon == 12 else (t.tm_year, t.tm_mon + 1)
    return Window(f"{t.tm_year:04d}{t.tm_mon:02d}", calendar.timegm((year, month, 1, 0, 0, 0)))


def counter_name(kind: str, key_id: int, label: str) -> str:
    return f"gw:bq:{kind}:{key_id}:{label}"


@dataclass(frozen=True)
class Check:
    """One counter to add to at admission, refused when it already reached ``limit``
    before this request's own ``amount`` (so one request may overshoot a token
    budget by at most its own usage, as with tokens per minute)."""

    name: str
    amount: int
    limit: int
    ttl: int
    budget: str  # the field name, e.g. "tokens_per_day"; "" for a per-minute limit
    resets_at: float


def has_budgets(key: Budgeted) -> bool:
    return any(getattr(key, field) for field, _kind, _window in BUDGETS)


def counts_tokens(key: Budgeted) -> bool:
    return bool(key.tokens_per_day or key.tokens_per_month)


def checks(key: Budgeted, tokens: int, now: float) -> list[Check]:
    """The budget counters a request of ``key`` expecting ``tokens`` adds to."""
    out = []
    for field, kind, span in BUDGETS:
        limit = getattr(key, field)
        if not limit:
            continue
        win = window(span, now)
        amount = 1 if kind == "r" else max(0, int(tokens))
        out.append(Check(counter_name(kind, key.id, win.label), amount, int(limit),
                         int(win.resets_at - now) + GRACE_SECONDS, field, win.resets_at))
    return out


def refusal_message(check: Check, seconds: int) -> str:
    values = {"limit": check.limit, "resets_at": iso(check.resets_at), "seconds": seconds}
    if check.budget == "requests_per_day":
        return _("Quota exceeded: this key may make %(limit)s requests per day (UTC). It resets at "
                 "%(resets_at)s, in %(seconds)s seconds.") % values
    if check.budget == "requests_per_month":
        return _("Quota exceeded: this key may make %(limit)s requests per month (UTC). It resets at "
                 "%(resets_at)s, in %(seconds)s seconds.") % values
    if check.budget == "tokens_per_day":
        return _("Quota exceeded: this key may use %(limit)s tokens per day (UTC). It resets at "
                 "%(resets_at)s, in %(seconds)s seconds.") % values
    return _("Quota exceeded: this key may use %(limit)s tokens per month (UTC). It resets at "
             "%(resets_at)s, in %(seconds)s seconds.") % values


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Use, for the admin and the API ----------------------------------------------------


class BudgetUse(dict):
    """``{"used": int | None, "limit": int | None, "resets_at": str}`` of one budget;
    ``used`` is None when the budget is not set (nothing is counted then)."""


def usage(keys: list[Any], now: float | None = None) -> dict[int, dict[str, BudgetUse]]:
    """Use against every budget of each key, read from the counters in one cache call.
    A cache that cannot be reached shows no use (``used`` None), never an error."""
    now = time.time() if now is None else now
    wins = {DAY: window(DAY, now), MONTH: window(MONTH, now)}
    names = [counter_name(kind, key.id, wins[span].label)
             for key in keys for field, kind, span in BUDGETS if getattr(key, field)]
    try:
        counts = cache.get_many(names) if names else {}
        reachable = True
    except Exception:
        log.warning("budget counters unavailable; use shown as unknown", exc_info=True)
        counts, reachable = {}, False
    out: dict[int, dict[str, BudgetUse]] = {}
    for key in keys:
        row: dict[str, BudgetUse] = {}
        for field, kind, span in BUDGETS:
            limit = getattr(key, field)
            used = None
            if limit and reachable:
                used = max(0, int(counts.get(counter_name(kind, key.id, wins[span].label)) or 0))
            row[field] = BudgetUse(used=used, limit=limit, resets_at=iso(wins[span].resets_at))
        out[key.id] = row
    return out


SHORT = {"requests_per_day": "req/d", "requests_per_month": "req/mo", "tokens_per_day": "tok/d",
         "tokens_per_month": "tok/mo"}


def summary(use: dict[str, Any]) -> str:
    """``req/d 12/100, tok/mo 5000/1000000``: use of each budget that is set (``?``:
    the counters cannot be read); ``-`` when none is set. For lists and tables."""
    parts = [f"{SHORT[name]} {'?' if row['used'] is None else row['used']}/{row['limit']}"
             for name, row in use.items() if row.get("limit")]
    return ", ".join(parts) or "-"
