"""Two gateway processes (real ``uvicorn`` subprocesses) on one PostgreSQL and one
Redis share target health: a target that cooled down in process A is skipped by
process B without B sending it anything, and failures seen by A and B together
reach the threshold that neither reached alone. The request path never waits on
Redis: each process exchanges counts and cooldowns in the background.

The waits are bounded polls, and one fixed pause of five sync periods (a behaviour
test, not a timing test)."""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import outside
from tests.hardening.workers import Worker, follow, start_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
DB_NAME = "test_14routes_shared_health"
SETUP = """
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from providers import services
from providers.routes import services as route_services
for name in ("flaky", "good", "other"):
    services.provider_create(name=name, provider_type="custom", base_url={base_url!r})
for route, first in (("chat-default", "flaky"), ("second", "other")):
    route_services.route_create(name=route, targets=route_services.targets_from_names(
        [{{"provider": first, "model": "status-503", "priority": 0}}, {{"provider": "good", "model": "text", "priority": 1}}]))
_key, raw = services.gateway_key_create(name="client")
user = get_user_model().objects.create_superuser("ops", "ops@example.com", None)
print(json.dumps({{"key": raw, "token": Token.objects.create(user=user).key}}))
"""


@pytest.fixture
def pair(tmp_path: Path, upstream: Any) -> Iterator[tuple[Worker, Worker, dict[str, str]]]:
    pg = outside.postgres_url()
    redis_url = outside.redis_url()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "DJANGO_", "REDIS_", "DATABASE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="gateway.settings", DATABASE_URL=outside.pg_url_for(pg, DB_NAME), REDIS_URL=redis_url,
        GATEWAY_CACHE_PREFIX=f"gw-routes-{uuid.uuid4().hex[:8]}", SECRET_KEY=secrets.token_urlsafe(48),
        GATEWAY_ENCRYPTION_KEY=secrets.token_urlsafe(48), GATEWAY_CONFIG_REFRESH_SECONDS="0.5",
        GATEWAY_HEALTH_SYNC_SECONDS="0.2", GATEWAY_HEALTH_FAILURE_THRESHOLD="2",
        GATEWAY_HEALTH_COOLDOWN_SECONDS="60", GATEWAY_VAR_DIR=str(tmp_path), GATEWAY_TESTING="false",
        DEBUG="false", SECURE_SSL_REDIRECT="false", ALLOWED_HOSTS="127.0.0.1,localhost", PYTHONPATH=str(ROOT),
    )
    outside.pg_admin(pg, f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    outside.pg_admin(pg, f'CREATE DATABASE "{DB_NAME}"')
    workers: list[Worker] = []
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        made = subprocess.run([sys.executable, "manage.py", "shell", "-c", SETUP.format(base_url=upstream.base_url)],
                              cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        secrets_ = json.loads(made.stdout.strip().splitlines()[-1])
        workers.append(start_worker(env, tmp_path, "a"))
        workers.append(start_worker(env, tmp_path, "b"))
        yield workers[0], workers[1], secrets_
    finally:
        for worker in workers:
            worker.stop()
        outside.pg_admin(pg, f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def chat(worker: Worker, key: str, model: str) -> httpx.Response:
    return httpx.post(f"{worker.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=20,
                      json={"model": model, "messages": [{"role": "user", "content": "hi"}]}, trust_env=False)


def health_of(worker: Worker, token: str, name: str) -> dict[str, Any]:
    body = httpx.get(f"{worker.url}/api/providers/", headers={"Authorization": f"Token {token}"}, timeout=20,
                     trust_env=False).json()
    rows = body["results"] if isinstance(body, dict) else body
    return next(p["health"] for p in rows if p["name"] == name)


def sent(upstream: Any) -> list[str]:
    return [r.body["model"] for r in upstream.requests if r.path.endswith("/chat/completions")]


def test_a_cooldown_in_one_process_is_honoured_by_the_other(pair, upstream):
    a, b, s = pair
    # B has served something (its routing table is loaded), nothing on the route.
    assert httpx.get(f"{b.url}/v1/models", headers={"Authorization": f"Bearer {s['key']}"},
                     trust_env=False, timeout=20).status_code == 200
    for _ in range(2):  # the threshold, in process A only
        answer = chat(a, s["key"], "chat-default")
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"] == "chat-default"
    assert sent(upstream) == ["status-503", "text", "status-503", "text"]
    assert health_of(a, s["token"], "flaky")["state"] == "cooling_down"

    # B learns it in the background (its API is not asked, which would pull at once).
    time.sleep(1.0)  # five sync periods
    upstream.requests.clear()
    assert chat(b, s["key"], "chat-default").status_code == 200
    assert sent(upstream) == ["text"]  # B skips the target it never tried itself
    seen = health_of(b, s["token"], "flaky")
    assert seen["state"] == "cooling_down", seen
    assert seen["last_error"] == "HTTP 503"


def test_failures_of_both_processes_add_up(pair, upstream):
    a, b, s = pair
    assert chat(a, s["key"], "second").status_code == 200  # one failure in A
    follow(lambda: health_of(b, s["token"], "other"), lambda h: h["requests"] >= 1)
    assert chat(b, s["key"], "second").status_code == 200  # one in B: two together
    state = follow(lambda: health_of(a, s["token"], "other"), lambda h: h["state"] == "cooling_down")
    assert state["state"] == "cooling_down", state
    upstream.requests.clear()
    assert chat(a, s["key"], "second").status_code == 200
    assert sent(upstream) == ["text"]
