"""Real gateway workers for the tests that only a separate process can show
(memory held, several workers sharing Redis, a revocation seen by another
process): ``uvicorn gateway.asgi:application`` subprocesses, as in production,
on one SQLite database of their own (migrated once per ``Deployment``); ``follow``
waits, within a bound, until another process shows a change."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
FOLLOW_SECONDS = 15.0  # a bound on the wait, not a speed claim
T = TypeVar("T")


@dataclass
class Worker:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")


@dataclass
class Deployment:
    tmp: Path
    env: dict[str, str] = field(default_factory=dict)
    workers: list[Worker] = field(default_factory=list)

    def __post_init__(self) -> None:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "DJANGO_", "REDIS_", "DATABASE_"))}
        base.update(
            DJANGO_SETTINGS_MODULE="gateway.settings", PYTHONPATH=str(ROOT),
            SECRET_KEY=secrets.token_urlsafe(48), GATEWAY_ENCRYPTION_KEY=secrets.token_urlsafe(48),
            GATEWAY_VAR_DIR=str(self.tmp), GATEWAY_SQLITE_PATH=str(self.tmp / "gateway.sqlite3"),
            GATEWAY_TESTING="false", DEBUG="false", SECURE_SSL_REDIRECT="false", ALLOWED_HOSTS="127.0.0.1,localhost",
        )
        base.update(self.env)
        self.env = base
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=self.env, check=True)

    def shell(self, code: str) -> str:
        """Run ``code`` in ``manage.py shell`` against this deployment; its last output line."""
        done = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""

    def start(self, **env: str) -> Worker:
        worker = start_worker({**self.env, **env}, self.tmp)
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers.clear()


def start_worker(env: dict[str, str], tmp: Path, name: str = "") -> Worker:
    """``uvicorn gateway.asgi:application`` as in production, on a free port; returns once it answers."""
    port = free_port()
    log = tmp / f"worker-{name or port}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "gateway.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1, trust_env=False).status_code == 200:
                return Worker(port, proc, log)
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the gateway worker {name} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def follow(call: Callable[[], T], done: Callable[[T], bool]) -> T:
    """Poll ``call`` until ``done`` holds or the bound runs out; return the last answer."""
    deadline = time.monotonic() + FOLLOW_SECONDS
    while True:
        answer = call()
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)
