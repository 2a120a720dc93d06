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

import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import outside
from tests.hardening.workers import Worker, start_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
# A name of this run's own: other test runs may use the same PostgreSQL server at the same time.
DB_NAME = "gw_scale_test_{mode}_" + uuid.uuid4().hex[:8]
FOLLOW_SECONDS = 15.0  # a bound on the wait, not a speed claim
MESSAGES = [{"role": "user", "content": "hi"}]


@dataclass
class Gateway(Worker):
    name: str = ""

    def chat(self, key: str, model: str) -> httpx.Response:
        with httpx.Client(trust_env=False, timeout=20) as client:
            return client.post(
                f"{self.url}/v1/chat/completions",
                headers={"Authorization": f"Bearer {key}"},
                json={"model": model, "messages": MESSAGES},
            )

    def models(self, key: str) -> httpx.Response:
        with httpx.Client(trust_env=False, timeout=20) as client:
            return client.get(f"{self.url}/v1/models", headers={"Authorization": f"Bearer {key}"})


@dataclass
class Cluster:
    a: Gateway
    b: Gateway
    token: str
    mode: str
    env: dict[str, str]

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The staff REST API of process A."""
        with httpx.Client(trust_env=False, timeout=20) as client:
            return client.request(
                method, f"{self.a.url}/api/{path}", headers={"Authorization": f"Token {self.token}"}, **kwargs
            )

    def new_key(self, name: str, **extra: Any) -> tuple[int, str]:
        response = self.api("POST", "gateway-keys/", json={"name": name, **extra})
        assert response.status_code == 201, response.text
        return response.json()["id"], response.json()["key"]


def _start(name: str, env: dict[str, str], tmp: Path) -> Gateway:
    worker = start_worker(env, tmp, name)
    return Gateway(worker.port, worker.proc, worker.log, name)


@pytest.fixture(scope="module", params=["redis", "database"])
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    mode = request.param
    pg = outside.postgres_url()
    db_name = DB_NAME.format(mode=mode)
    tmp = tmp_path_factory.mktemp(f"scale-{mode}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "DJANGO_", "REDIS_", "DATABASE_"))}
    if mode == "redis":
        env["REDIS_URL"] = outside.redis_url()
        env["GATEWAY_CACHE_PREFIX"] = f"gw-scale-{uuid.uuid4().hex[:8]}"  # this run's own keys in a shared Redis
    outside.pg_admin(pg, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    outside.pg_admin(pg, f'CREATE DATABASE "{db_name}"')
    env.update(
        DJANGO_SETTINGS_MODULE="gateway.settings",
        DATABASE_URL=outside.pg_url_for(pg, db_name),
        SECRET_KEY=secrets.token_urlsafe(48),
        GATEWAY_ENCRYPTION_KEY=secrets.token_urlsafe(48),  # the same key in every process
        GATEWAY_CONFIG_REFRESH_SECONDS="0.5",
        GATEWAY_VAR_DIR=str(tmp),
        GATEWAY_TESTING="false",
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    gateways: list[Gateway] = []
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        made = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c",
             "from django.contrib.auth import get_user_model\n"
             "from rest_framework.authtoken.models import Token\n"
             "u = get_user_model().objects.create_superuser('scale', 'scale@example.com', None)\n"
             "print(Token.objects.create(user=u).key)"],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True,
        )
        token = made.stdout.strip().splitlines()[-1]
        gateways.append(_start("a", env, tmp))
        gateways.append(_start("b", env, tmp))
        yield Cluster(a=gateways[0], b=gateways[1], token=token, mode=mode, env=env)
    finally:
        for gw in gateways:
            gw.proc.terminate()
        for gw in gateways:
            try:
                gw.proc.wait(10)
            except subprocess.TimeoutExpired:
                gw.proc.kill()
        outside.pg_admin(pg, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def follow(call: Callable[[], httpx.Response], done: Callable[[httpx.Response], bool]) -> httpx.Response:
    """Poll ``call`` until ``done`` holds or the bound runs out; return the last answer."""
    deadline = time.monotonic() + FOLLOW_SECONDS
    while True:
        response = call()
        if done(response) or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


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
