"""Two gateway processes (real ``uvicorn`` subprocesses) on one PostgreSQL, with
and without a shared Redis: a provider created, changed or disabled and a key
revoked through process A's staff API take effect in process B within a couple of
seconds. With Redis, B learns of changes from the version A publishes there (the
database is only rechecked every 30 s, longer than the tests wait), and rate-limit
counters are shared.

The waits are bounded polls (a behaviour test, not a timing test): the refresh
period is set to half a second and B is given up to 15 seconds to follow.
"""
from __future__ import annotations

import time

import pytest

from tests.hardening.workers import follow

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_provider_created_changed_and_disabled_through_one_process_reaches_the_other(cluster, upstream):
    _id, key = cluster.new_key("scale-provider-client")

    created = cluster.api("POST", "providers/", json={
        "name": "shared", "provider_type": "custom", "base_url": upstream.base_url, "api_key": "sk-shared-123456",
    })
    assert created.status_code == 201, created.text
    provider_id = created.json()["id"]

    answer = follow(lambda: cluster.b.chat(key, "shared/text"), lambda r: r.status_code == 200)
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == "Hello from fake"
    assert upstream.last().headers.get("authorization") == "Bearer sk-shared-123456"
    listed = cluster.b.models(key)
    assert "shared/text" in {m["id"] for m in listed.json()["data"]}

    changed = cluster.api("PATCH", f"providers/{provider_id}/", json={"settings": {"allowed_models": ["tools"]}})
    assert changed.status_code == 200, changed.text
    refused = follow(lambda: cluster.b.chat(key, "shared/text"), lambda r: r.status_code == 404)
    assert refused.status_code == 404, refused.text
    assert refused.json()["error"]["code"] == "model_not_found"
    assert cluster.b.chat(key, "shared/tools").status_code == 200

    disabled = cluster.api("PATCH", f"providers/{provider_id}/", json={"enabled": False})
    assert disabled.status_code == 200, disabled.text
    gone = follow(lambda: cluster.b.chat(key, "shared/tools"), lambda r: r.status_code == 404)
    assert gone.status_code == 404, gone.text
    assert gone.json()["error"]["code"] == "model_not_found"
    assert cluster.a.chat(key, "shared/tools").status_code == 404


def test_gateway_key_revoked_through_one_process_is_refused_by_the_other(cluster, upstream):
    created = cluster.api("POST", "providers/", json={
        "name": "revocation", "provider_type": "custom", "base_url": upstream.base_url,
    })
    assert created.status_code == 201, created.text
    key_id, key = cluster.new_key("scale-revoked-client")
    ok = follow(lambda: cluster.b.chat(key, "revocation/text"), lambda r: r.status_code == 200)
    assert ok.status_code == 200, ok.text

    revoked = cluster.api("POST", f"gateway-keys/{key_id}/revoke/")
    assert revoked.status_code == 200, revoked.text
    refused = follow(lambda: cluster.b.chat(key, "revocation/text"), lambda r: r.status_code == 401)
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"]["code"] == "invalid_api_key"
    assert key not in refused.text


@pytest.mark.parametrize("cluster", ["redis"], indirect=True)
def test_config_version_is_published_in_redis(cluster, upstream):
    import psycopg
    import redis

    created = cluster.api("POST", "providers/", json={
        "name": "published", "provider_type": "custom", "base_url": upstream.base_url,
    })
    assert created.status_code == 201, created.text
    with psycopg.connect(cluster.env["DATABASE_URL"]) as conn:
        version = conn.execute("SELECT version FROM providers_configversion WHERE id = 1").fetchone()[0]
    client = redis.Redis.from_url(cluster.env["REDIS_URL"])
    published = client.get(f"{cluster.env['GATEWAY_CACHE_PREFIX']}:1:gw:config-version")
    assert published is not None
    assert int(published) == version


@pytest.mark.parametrize("cluster", ["redis"], indirect=True)
def test_rate_limit_counts_requests_of_every_process_through_redis(cluster, upstream):
    created = cluster.api("POST", "providers/", json={
        "name": "limited", "provider_type": "custom", "base_url": upstream.base_url,
    })
    assert created.status_code == 201, created.text
    # The counters live in one-minute windows: start the count well inside one.
    while (left := 60 - time.time() % 60) < 20:
        time.sleep(left + 0.5)
    _id, key = cluster.new_key("scale-limited-client", rate_limit_rpm=3)
    for gw in (cluster.a, cluster.b):  # both processes know the key (/v1/models is not rate limited)
        known = follow(lambda gw=gw: gw.models(key), lambda r: r.status_code == 200)
        assert known.status_code == 200, known.text

    assert cluster.a.chat(key, "limited/text").status_code == 200
    assert cluster.b.chat(key, "limited/text").status_code == 200
    assert cluster.a.chat(key, "limited/text").status_code == 200
    over = cluster.b.chat(key, "limited/text")  # the fourth request in the minute, counted across A and B
    assert over.status_code == 429, over.text
    assert over.json()["error"]["code"] == "rate_limit_exceeded"
    assert int(over.headers["Retry-After"]) >= 1
