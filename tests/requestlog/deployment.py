"""Real gateway worker processes (uvicorn, production settings) for the request log
tests that need them: on a PostgreSQL database of their own, or on SQLite; with a
provider ("local", the fake upstream) and a gateway key made before they start."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.hardening.workers import Worker, start_worker
from tests.outside import pg_admin, pg_url_for

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 20.0  # a bound on the waits, not a speed claim

SETUP = """
from providers import services
services.provider_create(name="local", provider_type="custom", base_url={base_url!r})
_key, raw = services.gateway_key_create(name="logged")
print(raw)
"""


@dataclass
class Deployment:
    env: dict[str, str]
    tmp: Path
    key: str = ""
    workers: list[Worker] = field(default_factory=list)

    def manage(self, *args: str, code: str | None = None) -> str:
        command = [sys.executable, "manage.py", *args] + (["-c", code] if code else [])
        done = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""

    def start(self, name: str, **env: str) -> Worker:
        worker = start_worker({**self.env, **env}, self.tmp, name)
        self.workers.append(worker)
        return worker

    def count(self, where: str = "") -> int:
        return int(self.manage("shell", code=f"from chat.models import RequestLog\n"
                                             f"print(RequestLog.objects.filter({where}).count())"))

    def wait_rows(self, expected: int) -> int:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            found = self.count()
            if found >= expected or time.monotonic() > deadline:
                return found
            time.sleep(0.3)


def chat(worker: Worker, key: str, *, stream: bool = False) -> httpx.Response:
    return httpx.post(f"{worker.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=20,
                      json={"model": "local/text", "stream": stream, "messages": [{"role": "user", "content": "hi"}]},
                      trust_env=False)


@contextmanager
def deployment(tmp: Path, upstream_url: str, *, database_url: str | None = None, **env: str) -> Iterator[Deployment]:
    """Migrated, with the provider and key made; every worker stopped (SIGTERM) at the end."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "DJANGO_", "REDIS_", "DATABASE_"))}
    base.update(
        DJANGO_SETTINGS_MODULE="gateway.settings", PYTHONPATH=str(ROOT),
        SECRET_KEY=secrets.token_urlsafe(48), GATEWAY_ENCRYPTION_KEY=secrets.token_urlsafe(48),
        GATEWAY_VAR_DIR=str(tmp), GATEWAY_SQLITE_PATH=str(tmp / "gateway.sqlite3"),
        GATEWAY_TESTING="false", DEBUG="false", SECURE_SSL_REDIRECT="false", ALLOWED_HOSTS="127.0.0.1,localhost",
        **env,
    )
    if database_url:
        base["DATABASE_URL"] = database_url
    made = Deployment(env=base, tmp=tmp)
    made.manage("migrate", "-v", "0")
    made.key = made.manage("shell", code=SETUP.format(base_url=upstream_url))
    try:
        yield made
    finally:
        for worker in made.workers:
            worker.stop()


@contextmanager
def pg_database(name: str) -> Iterator[str]:
    """A fresh PostgreSQL database (skips, or fails under GATEWAY_REQUIRE_ALL, without a server)."""
    from tests import outside

    url = outside.postgres_url()
    pg_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_admin(url, f'CREATE DATABASE "{name}"')
    try:
        yield pg_url_for(url, name)
    finally:
        pg_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def logs(worker: Worker) -> str:
    return worker.log.read_text(errors="replace")



