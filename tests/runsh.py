"""``scripts/run.sh`` as a subprocess: the very server a newcomer starts from the README.

Browser tests drive this, not the ASGI app wrapped in a test-only static handler, so
they see what a user sees (static files served by WhiteNoise, DEBUG as run.sh sets it,
collectstatic, the printed admin login). Each server gets its own ``GATEWAY_VAR_DIR``
and port. ``database_env()`` lets a test share its test database with the server, so
the test can arrange rows and check them with the ORM.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
# What the test process's environment must not pass on: run.sh decides these itself.
SCRUBBED = ("DEBUG", "GATEWAY_TESTING", "PORT", "GATEWAY_VAR_DIR", "STATIC_ROOT", "DATABASE_URL",
            "GATEWAY_SQLITE_PATH", "SECRET_KEY", "SECRET_KEY_FILE", "GATEWAY_ENCRYPTION_KEY",
            "GATEWAY_ENCRYPTION_KEY_FILE", "ADMIN_USERNAME", "ADMIN_PASSWORD", "GATEWAY_ASGI_FAST_PATH")


def database_env() -> dict[str, str]:
    """Environment that points a server process at this test process's test database,
    with the same keys, so rows the test writes (encrypted keys too) are the server's."""
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    env = {"SECRET_KEY": settings.SECRET_KEY, "GATEWAY_ENCRYPTION_KEY": settings.GATEWAY_ENCRYPTION_KEY}
    if db["ENGINE"].endswith("sqlite3"):
        env["GATEWAY_SQLITE_PATH"] = str(db["NAME"])
    else:
        user = db.get("USER") or ""
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        env["DATABASE_URL"] = f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    return env


class RunSh:
    """``./scripts/run.sh`` (or ``command``, a shell line) on a free port with a fresh var directory."""

    def __init__(self, extra_env: dict[str, str] | None = None, command: str | None = None) -> None:
        self.command = [str(ROOT / "scripts" / "run.sh")] if command is None else ["bash", "-c", command]
        self.port = free_port()
        self._tmp = tempfile.TemporaryDirectory(prefix="gateway-runsh-")
        self.var_dir = Path(self._tmp.name) / "var"
        self.var_dir.mkdir()
        self.log_path = Path(self._tmp.name) / "run.log"
        self.env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        self.env.update({"PORT": str(self.port), "GATEWAY_VAR_DIR": str(self.var_dir), **(extra_env or {})})
        self.process: subprocess.Popen[bytes] | None = None
        self.username = ""
        self.password = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, timeout: float = 120) -> RunSh:
        # Output goes to a file: a pipe nobody reads would block the server once full.
        with open(self.log_path, "wb") as out:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while "Uvicorn running on" not in self.log():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.log()
                self.stop()
                raise RuntimeError(f"{self.command[-1]} did not start:\n{log[-4000:]}")
            time.sleep(0.1)
        text = self.log()
        if m := re.search(r"Username:\s*(\S+)", text):
            self.username = m.group(1)
        if m := re.search(r"Password:\s*(\S+)", text):
            self.password = m.group(1)
        return self

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``manage.py`` with the server's environment, as a user would run it in another shell."""
        return subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "manage.py", *args], cwd=ROOT,
                              env={**self.env, "DEBUG": "true"}, capture_output=True, text=True, timeout=60)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # run.sh execs uvicorn in its own session: signal that group only.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._tmp.cleanup()


@contextmanager
def browser_server() -> Iterator[RunSh]:
    """``run.sh`` on the test database for a browser test: skips (or fails under
    GATEWAY_REQUIRE_ALL) without Chromium before the slow start; stopped afterwards."""
    from tests.outside import chromium_path

    chromium_path()
    server = RunSh(database_env()).start()
    try:
        yield server
    finally:
        server.stop()
