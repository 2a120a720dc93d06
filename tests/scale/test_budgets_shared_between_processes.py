"""Two gateway processes (real ``uvicorn`` subprocesses) on one PostgreSQL and one
Redis count a key's budgets together: requests and the tokens the (loopback)
upstream reports, served by either process, spend the same daily budget, and the
request over it is refused by whichever process gets it. The staff API of one
process shows the use counted by both."""
from __future__ import annotations

import calendar
import time

import pytest

from tests.hardening.workers import follow

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _away_from_midnight() -> str:
    """Wait until the UTC day has more than a minute left (a behaviour test, not a timing one);
    return when the day's window resets."""
    while (left := 86400 - time.time() % 86400) < 60:
        time.sleep(left + 0.5)
    t = time.gmtime()
    midnight = calendar.timegm((t.tm_year, t.tm_mon, t.tm_mday + 1, 0, 0, 0))  # timegm carries a day past the month
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(midnight))


def _key_on_both(cluster, upstream, provider: str, **budget: int) -> tuple[int, str, str]:
    """A provider on the loopback upstream and a key with ``budget``, known to both processes;
    returns the key's id, its secret and when the day's window resets."""
    created = cluster.api("POST", "providers/", json={"name": provider, "provider_type": "custom",
                                                      "base_url": upstream.base_url})
    assert created.status_code == 201, created.text
    resets_at = _away_from_midnight()
    key_id, key = cluster.new_key(f"scale-budget-{provider}", **budget)
    for gw in (cluster.a, cluster.b):  # /v1/models is not budgeted
        known = follow(lambda gw=gw: gw.models(key), lambda r: r.status_code == 200)
        assert known.status_code == 200, known.text
    return key_id, key, resets_at


def _assert_quota(response, quota: str, resets_at: str) -> None:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert (error["code"], error["quota"], error["resets_at"]) == ("quota_exceeded", quota, resets_at)
    assert 1 <= int(response.headers["Retry-After"]) <= 86400


@pytest.mark.parametrize("cluster", ["redis"], indirect=True)
def test_request_budget_counts_requests_of_both_processes(cluster, upstream):
    key_id, key, resets_at = _key_on_both(cluster, upstream, "budgeted", requests_per_day=3)

    assert cluster.a.chat(key, "budgeted/text").status_code == 200
    assert cluster.b.chat(key, "budgeted/text").status_code == 200
    assert cluster.a.chat(key, "budgeted/text").status_code == 200
    _assert_quota(cluster.b.chat(key, "budgeted/text"), "requests_per_day", resets_at)
    _assert_quota(cluster.a.chat(key, "budgeted/text"), "requests_per_day", resets_at)

    usage = cluster.api("GET", f"gateway-keys/{key_id}/").json()["usage"]["requests_per_day"]
    assert usage == {"used": 3, "limit": 3, "resets_at": resets_at}


@pytest.mark.parametrize("cluster", ["redis"], indirect=True)
def test_token_budget_counts_reported_usage_of_both_processes(cluster, upstream):
    key_id, key, resets_at = _key_on_both(cluster, upstream, "metered", tokens_per_day=20)

    # The fake upstream reports 8 tokens per answer: 8, 16, then 24 (admitted under 20, settled to 24).
    for gw in (cluster.a, cluster.b, cluster.a):
        answer = gw.chat(key, "metered/text")
        assert answer.status_code == 200, answer.text
    _assert_quota(cluster.b.chat(key, "metered/text"), "tokens_per_day", resets_at)

    usage = cluster.api("GET", f"gateway-keys/{key_id}/").json()["usage"]["tokens_per_day"]
    assert usage == {"used": 24, "limit": 20, "resets_at": resets_at}
