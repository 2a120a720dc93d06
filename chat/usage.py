"""Usage: the request log aggregated over a period, in hour or day buckets.

One module for every reader (the admin's usage page, ``GET /api/usage/``, the last-24 h
columns of the provider and key lists), so a number means the same everywhere:

- *requests*: rows; *errors*: rows whose outcome is not success (client errors, limit
  refusals, upstream and gateway errors, client disconnects);
- *tokens*: sums of what upstreams reported; rows without a report are counted apart
  (``tokens_unknown``), never guessed;
- *latency*/*TTFT* percentiles (p50, p95, nearest rank) computed in Python, so they are
  the same on SQLite and PostgreSQL: over every row when the period holds at most
  ``GATEWAY_USAGE_SAMPLE_ROWS`` rows, otherwise over an even sample (every k-th id),
  and the report says ``sampled``.

Counts and sums come from one grouped query; the percentiles from one more query that
reads at most the sample's rows. Buckets are in the current time zone, zero-filled.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Mod, Trunc
from django.utils import timezone

from .models import Outcome, RequestLog

GROUPS = {"provider": "provider_name", "key": "key_name", "model": "requested_model"}
BUCKETS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
# The most buckets one report holds: two weeks of hours, a little over a year of days.
MAX_BUCKETS = {"hour": 24 * 14, "day": 400}
# The most groups a report lists one by one; the rest are summed as OTHER.
MAX_GROUPS = 50
OTHER = "(other)"


class Stats(TypedDict):
    requests: int
    errors: int
    error_rate: float | None
    tokens_in: int
    tokens_out: int
    tokens_reasoning: int
    tokens_unknown: int
    latency_p50_ms: int | None
    latency_p95_ms: int | None
    ttft_p50_ms: int | None
    ttft_p95_ms: int | None


class BucketStats(Stats):
    start: datetime


class GroupStats(TypedDict):
    name: str
    totals: Stats
    buckets: list[BucketStats]


class Report(TypedDict):
    since: datetime
    until: datetime
    bucket: str
    group: str
    sampled: bool
    totals: Stats
    buckets: list[BucketStats]
    groups: list[GroupStats]


@dataclass(frozen=True)
class UsageQuery:
    """A period ``[since, until)``, its bucket size, what to break it down by, and filters."""

    since: datetime
    until: datetime
    bucket: str = "hour"
    group: str = "provider"
    provider: str | None = None
    key: str | None = None
    model: str | None = None


def default_period(bucket: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The last 24 hours for hour buckets, the last 30 days for day buckets (ending now)."""
    until = now or timezone.now()
    return until - (timedelta(hours=24) if bucket == "hour" else timedelta(days=30)), until


def period_problem(since: datetime, until: datetime, bucket: str) -> str | None:
    """Why a period cannot be reported (in the active language), or None."""
    from django.utils.translation import gettext

    if until <= since:
        return gettext("The end must be later than the start.")
    if len(bucket_starts(since, until, bucket)) > MAX_BUCKETS[bucket]:
        if bucket == "hour":
            return gettext("Too long for hour buckets: at most %(count)s buckets.") % {"count": MAX_BUCKETS[bucket]}
        return gettext("Too long for day buckets: at most %(count)s buckets.") % {"count": MAX_BUCKETS[bucket]}
    return None


def floor(moment: datetime, bucket: str) -> datetime:
    """The start of ``moment``'s bucket in the current time zone."""
    local = timezone.localtime(moment)
    if bucket == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def bucket_starts(since: datetime, until: datetime, bucket: str) -> list[datetime]:
    start, starts = floor(since, bucket), list[datetime]()
    step = BUCKETS[bucket]
    limit = MAX_BUCKETS[bucket] + 1  # enough to tell "too many"
    while start < until and len(starts) < limit:
        starts.append(start)
        # Add in UTC and floor again: a day is not always 24 hours where clocks change.
        start = floor(start + step + (timedelta(hours=2) if bucket == "day" else timedelta()), bucket)
    return starts


def _rows(q: UsageQuery) -> QuerySet[RequestLog]:
    qs = RequestLog.objects.filter(started_at__gte=q.since, started_at__lt=q.until)
    if q.provider:
        qs = qs.filter(provider_name=q.provider)
    if q.key:
        qs = qs.filter(key_name=q.key)
    if q.model:
        qs = qs.filter(Q(requested_model=q.model) | Q(upstream_model=q.model))
    return qs.order_by()


# Aggregates by name; in queries they are annotated as "sum_<name>" (a name of a model
# field cannot be an annotation's).
_SUMS = {
    "requests": Count("id"),
    "errors": Count("id", filter=~Q(outcome=Outcome.OK)),
    "tokens_in": Sum("tokens_in"),
    "tokens_out": Sum("tokens_out"),
    "tokens_reasoning": Sum("tokens_reasoning"),
    "tokens_unknown": Count("id", filter=Q(tokens_in__isnull=True, tokens_out__isnull=True)),
}


def _aggregates(*names: str) -> dict[str, Any]:
    return {f"sum_{name}": _SUMS[name] for name in (names or _SUMS)}


def percentile(values: list[int], p: float) -> int | None:
    """Nearest-rank percentile of sorted ``values`` (None when there are none)."""
    if not values:
        return None
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)]


class _Acc:
    """Sums and latency samples of one cell (a bucket, a group, or both)."""

    __slots__ = ("latency", "sums", "ttft")

    def __init__(self) -> None:
        self.sums: dict[str, int] = dict.fromkeys(_SUMS, 0)
        self.latency: list[int] = []
        self.ttft: list[int] = []

    def add_sums(self, row: dict[str, Any]) -> None:
        for name in _SUMS:
            self.sums[name] += row.get(f"sum_{name}") or 0

    def add(self, other: _Acc) -> None:
        for name, value in other.sums.items():
            self.sums[name] += value
        self.latency.extend(other.latency)
        self.ttft.extend(other.ttft)

    def stats(self) -> Stats:
        self.latency.sort()
        self.ttft.sort()
        s = self.sums
        return Stats(
            requests=s["requests"], errors=s["errors"],
            error_rate=(s["errors"] / s["requests"]) if s["requests"] else None,
            tokens_in=s["tokens_in"], tokens_out=s["tokens_out"], tokens_reasoning=s["tokens_reasoning"],
            tokens_unknown=s["tokens_unknown"],
            latency_p50_ms=percentile(self.latency, 50), latency_p95_ms=percentile(self.latency, 95),
            ttft_p50_ms=percentile(self.ttft, 50), ttft_p95_ms=percentile(self.ttft, 95),
        )


def _sample_step(total: int) -> int:
    cap = max(1, int(getattr(settings, "GATEWAY_USAGE_SAMPLE_ROWS", 50000)))
    return math.ceil(total / cap) if total > cap else 1


def _latencies(qs: QuerySet[RequestLog], total: int, *fields: str) -> tuple[Any, bool]:
    """Rows of (``fields``..., latency, ttft), every row or an even sample; and whether sampled."""
    step = _sample_step(total)
    if step > 1:
        qs = qs.annotate(_m=Mod("id", step)).filter(_m=0)
    return qs.values_list(*fields, "latency_ms", "ttft_ms").iterator(chunk_size=5000), step > 1


def usage_report(q: UsageQuery) -> Report:
    """Totals, per-bucket series and per-group breakdown (with its own series) of ``q``."""
    field = GROUPS[q.group]
    qs = _rows(q)
    starts = bucket_starts(q.since, q.until, q.bucket)
    cells: dict[tuple[datetime, str], _Acc] = defaultdict(_Acc)
    tz = timezone.get_current_timezone()
    grouped = (qs.annotate(_b=Trunc("started_at", q.bucket, tzinfo=tz)).values("_b", field)
               .annotate(**_aggregates()).order_by())
    total = 0
    for row in grouped:
        cells[(floor(row["_b"], q.bucket), row[field] or "")].add_sums(row)
        total += row["sum_requests"]
    rows, sampled = _latencies(qs, total, "started_at", field)
    for started, name, latency, ttft in rows:
        cell = cells[(floor(started, q.bucket), name or "")]
        cell.latency.append(latency)
        if ttft is not None:
            cell.ttft.append(ttft)

    by_group: dict[str, _Acc] = defaultdict(_Acc)
    for (_start, name), cell in cells.items():
        by_group[name].add(cell)
    ranked = sorted(by_group, key=lambda n: (-by_group[n].sums["requests"], n))
    kept, rest = ranked[:MAX_GROUPS], set(ranked[MAX_GROUPS:])
    names = kept + ([OTHER] if rest else [])

    grid: dict[str, dict[datetime, _Acc]] = {name: defaultdict(_Acc) for name in names}
    overall: dict[datetime, _Acc] = defaultdict(_Acc)
    for (start, name), cell in cells.items():
        grid[OTHER if name in rest else name][start].add(cell)
        overall[start].add(cell)

    def series(accs: dict[datetime, _Acc]) -> list[BucketStats]:
        return [BucketStats(start=start, **accs[start].stats()) if start in accs
                else BucketStats(start=start, **_Acc().stats()) for start in starts]

    groups = []
    for name in names:
        acc = _Acc()
        for cell in grid[name].values():
            acc.add(cell)
        groups.append(GroupStats(name=name, totals=acc.stats(), buckets=series(grid[name])))
    everything = _Acc()
    for cell in overall.values():
        everything.add(cell)
    return Report(since=q.since, until=q.until, bucket=q.bucket, group=q.group, sampled=sampled,
                  totals=everything.stats(), buckets=series(overall), groups=groups)


def recent_stats(field: str, values: list[Any], *, hours: int = 24, now: datetime | None = None) -> dict[Any, Stats]:
    """The last ``hours`` of each of ``values`` of ``field`` (``provider_name`` or ``key_id``):
    what the provider and key lists show, for one page of rows in two queries."""
    if not values:
        return {}
    until = now or timezone.now()
    qs = RequestLog.objects.filter(started_at__gte=until - timedelta(hours=hours), started_at__lt=until,
                                   **{f"{field}__in": values}).order_by()
    accs: dict[Any, _Acc] = defaultdict(_Acc)
    total = 0
    for row in qs.values(field).annotate(**_aggregates()):
        accs[row[field]].add_sums(row)
        total += row["sum_requests"]
    if total:
        rows, _sampled = _latencies(qs, total, field)
        for value, latency, ttft in rows:
            accs[value].latency.append(latency)
            if ttft is not None:
                accs[value].ttft.append(ttft)
    return {value: acc.stats() for value, acc in accs.items()}


class Consumer(TypedDict):
    name: str
    requests: int
    errors: int
    tokens_in: int
    tokens_out: int


def top_consumers(q: UsageQuery, limit: int = 10) -> list[Consumer]:
    """The gateway keys that used the most tokens in ``q``'s period (then the most requests)."""
    rows: list[dict[str, Any]] = [
        dict(row) for row in _rows(q).values("key_name").annotate(**_aggregates("requests", "errors", "tokens_in",
                                                                              "tokens_out"))]
    consumers = [Consumer(name=r["key_name"] or "", requests=r["sum_requests"], errors=r["sum_errors"],
                          tokens_in=r["sum_tokens_in"] or 0, tokens_out=r["sum_tokens_out"] or 0) for r in rows]
    consumers.sort(key=lambda c: (-(c["tokens_in"] + c["tokens_out"]), -c["requests"], c["name"]))
    return consumers[:limit]
