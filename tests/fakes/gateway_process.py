"""A gateway worker as deployed (uvicorn, uvloop, httptools, production settings
on a migrated SQLite file) in a process of its own, so a test can read its memory,
CPU time and open file descriptors from ``/proc``."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.fakes.loopback import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


@contextmanager
def gateway_process(tmp_path: Path, setup: str, env: dict[str, str] | None = None,
                    args: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
    """Migrate, run ``setup`` (Python after ``django.setup()``; its last printed line
    is yielded as ``setup_output``), start uvicorn. Yields url, pid, setup_output."""
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gateway.settings",
        "GATEWAY_TESTING": "1",
        "GATEWAY_VAR_DIR": str(tmp_path),
        "GATEWAY_SQLITE_PATH": str(tmp_path / "gateway.sqlite3"),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        **(env or {}),
    }
    environ.pop("DATABASE_URL", None)
    environ.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=environ,
                   check=True, timeout=300)
    output = subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + setup], cwd=ROOT,
                            env=environ, check=True, capture_output=True, text=True, timeout=120).stdout
    port = free_port()
    gateway = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "gateway.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning", *args],
        cwd=ROOT, env=environ,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or gateway.poll() is not None:
                    raise RuntimeError("the gateway did not start") from None
                time.sleep(0.1)
        yield {"url": f"http://127.0.0.1:{port}", "pid": gateway.pid,
               "setup_output": output.strip().splitlines()[-1] if output.strip() else ""}
    finally:
        stop(gateway)


@contextmanager
def script_server(module: str) -> Iterator[int]:
    """``python -m module 0`` in its own process; yields the port it printed."""
    proc = subprocess.Popen([sys.executable, "-m", module, "0"], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        yield int(proc.stdout.readline())  # type: ignore[union-attr]
    finally:
        stop(proc)
