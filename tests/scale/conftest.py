"""Fixtures of the scale tests: the fast path with a recorder behind it (``apps``,
see doors.py), and two gateway processes (real ``uvicorn`` subprocesses) on one
PostgreSQL, with and without a shared Redis (``cluster``)."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from chat.fastpath import Application
from tests import outside
from tests.hardening.workers import Worker, start_worker
from tests.scale.doors import Recorder

ROOT = Path(__file__).resolve().parents[2]
# A name of this run's own: other test runs may use the same PostgreSQL server at the same time.
DB_NAME = "gw_scale_test_{mode}_" + uuid.uuid4().hex[:8]
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def apps() -> tuple[Application, Recorder]:
    """The fast path, with a recorder standing in for Django behind it."""
    behind = Recorder()
    return Application(behind, fast=True), behind


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
