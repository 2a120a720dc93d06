"""Budgets count over UTC calendar days and months: the window a moment falls in
and when it resets, across month and year ends and leap days."""
from __future__ import annotations

import calendar
import time

import pytest

from chat.budgets import DAY, MONTH, checks, iso, window
from providers.routing import KeyInfo


def ts(text: str) -> float:
    """``2026-11-28T17:20:00`` (UTC) as a Unix time."""
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%S")))


@pytest.mark.parametrize(
    ("now", "kind", "label", "resets"),
    [("2026-11-28T17:20:00", DAY, "20261128", "2026-11-29T00:00:00Z"),
     ("2026-11-28T00:00:00", DAY, "20261128", "2026-11-29T00:00:00Z"),
     ("2026-11-30T23:59:59", MONTH, "202611", "2026-12-01T00:00:00Z"),
     ("2026-12-31T23:59:59", DAY, "20261231", "2027-01-01T00:00:00Z"),
     ("2026-12-15T08:00:00", MONTH, "202612", "2027-01-01T00:00:00Z"),
     ("2028-02-28T12:00:00", DAY, "20280228", "2028-02-29T00:00:00Z"),
     ("2028-02-29T12:00:00", MONTH, "202802", "2028-03-01T00:00:00Z")],
)
def test_windows_are_utc_calendar_days_and_months(now, kind, label, resets):
    win = window(kind, ts(now))
    assert win.label == label and iso(win.resets_at) == resets


def test_only_budgets_that_are_set_are_counted():
    key = KeyInfo(id=7, name="k", provider_ids=None, rate_limit_rpm=None, rate_limit_tpm=None,
                  requests_per_month=10, tokens_per_day=500)
    plan = checks(key, 120, ts("2026-11-28T17:20:00"))
    assert [(c.budget, c.amount, c.limit) for c in plan] == [
        ("requests_per_month", 1, 10), ("tokens_per_day", 120, 500)]
    assert plan[0].name == "gw:bq:r:7:202611" and plan[1].name == "gw:bq:t:7:20261128"
    assert all(c.ttl > c.resets_at - ts("2026-11-28T17:20:00") for c in plan)  # outlives its window
    assert checks(KeyInfo(id=7, name="k", provider_ids=None, rate_limit_rpm=None, rate_limit_tpm=None), 5, 0) == []
