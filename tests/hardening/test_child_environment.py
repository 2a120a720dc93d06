"""A program started by a provider cannot read the gateway's secrets: not from its
own environment, and not from the gateway's ``/proc/<pid>/environ`` (the
environment the gateway was started with).

A real gateway process (uvicorn) is started with ``SECRET_KEY`` and
``GATEWAY_ENCRYPTION_KEY`` in its environment; an ``acp`` provider runs a small
script (allowed through GATEWAY_ALLOWED_COMMANDS) that writes down what it can see.
The gateway runs without capabilities, as any non-root service does (a process
with CAP_SYS_PTRACE and friends reads every process's memory whatever the gateway does)."""
from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "secret-key-value-for-the-child-env-test-0123456789"
ENCRYPTION_KEY = "encryption-key-value-for-the-child-env-test-9876543210"

SPY = textwrap.dedent(
    """
    import json, os, sys
    report = {"own": dict(os.environ), "parent_pid": os.getppid()}
    for name in ("environ",):
        try:
            with open(f"/proc/{os.getppid()}/{name}", "rb") as fh:
                report["parent_" + name] = fh.read(1 << 16).decode("utf-8", "replace")
        except OSError as exc:
            report["parent_" + name] = f"refused: {type(exc).__name__}"
    with open(os.environ["SPY_REPORT"], "w") as fh:
        json.dump(report, fh)
    sys.exit(1)
    """
)


PR_CAPBSET_DROP = 24
CAP_LAST = 40


def _as_a_service_user() -> None:
    """In the gateway process before exec: no capabilities, as for a non-root user
    (the test machine runs everything as root, and Python lives under /root)."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in range(CAP_LAST + 1):
            libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)


@pytest.fixture
def gateway(tmp_path):
    spy = tmp_path / "spy.py"
    spy.write_text(SPY)
    report = tmp_path / "report.json"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "DJANGO_", "REDIS_", "DATABASE_"))},
        "DJANGO_SETTINGS_MODULE": "gateway.settings",
        "GATEWAY_TESTING": "1",  # loopback hosts, no HTTPS redirect
        "GATEWAY_GUARD_PROCESS": "true",  # as in production (off by default under the test runner)
        "GATEWAY_VAR_DIR": str(tmp_path),
        "GATEWAY_SQLITE_PATH": str(tmp_path / "gateway.sqlite3"),
        "SECRET_KEY": SECRET_KEY,
        "GATEWAY_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "GATEWAY_ALLOWED_COMMANDS": sys.executable,
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                   check=True, timeout=300)
    setup = (
        "import django; django.setup(); from providers import services; "
        "services.provider_create(name='spy', provider_type='acp', "
        f"settings={{'command': {sys.executable!r}, 'args': [{str(spy)!r}], 'env': {{'SPY_REPORT': {str(report)!r}}}}}); "
        "print(services.gateway_key_create(name='spy')[1])"
    )
    key = subprocess.run([sys.executable, "-c", setup], cwd=ROOT, env=env, check=True, capture_output=True,
                         text=True, timeout=120).stdout.strip().splitlines()[-1]
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "gateway.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--loop", "uvloop", "--no-access-log", "--log-level", "warning"],
        cwd=ROOT, env=env, preexec_fn=_as_a_service_user,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the gateway did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", key, report, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_provider_child_cannot_read_the_gateway_secrets(gateway):
    url, key, report, gateway_pid = gateway
    response = httpx.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=30,
                          json={"model": "spy/x", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 502  # the spy exits without speaking ACP
    seen = json.loads(report.read_text())
    assert seen["parent_pid"] == gateway_pid  # the child was started by the gateway itself
    for secret in (SECRET_KEY, ENCRYPTION_KEY):
        assert secret not in json.dumps(seen)
    assert not {"SECRET_KEY", "GATEWAY_ENCRYPTION_KEY", "DATABASE_URL", "REDIS_URL"} & set(seen["own"])
    assert seen["parent_environ"] == "refused: PermissionError"


def test_the_serving_process_drops_its_secret_variables(tmp_path):
    # Anything it starts by other means (a library, a shell-out) inherits os.environ.
    code = ("import os, subprocess, gateway.asgi; "
            "print(subprocess.run(['env'], capture_output=True, text=True).stdout)")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "DJANGO_", "REDIS_", "DATABASE_"))},
        "DJANGO_SETTINGS_MODULE": "gateway.settings", "GATEWAY_TESTING": "1", "GATEWAY_GUARD_PROCESS": "true",
        "GATEWAY_VAR_DIR": str(tmp_path), "SECRET_KEY": SECRET_KEY, "GATEWAY_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "REDIS_URL": "redis://:redis-password-4444@127.0.0.1:9/0",
    }
    seen = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=True).stdout
    assert "DJANGO_SETTINGS_MODULE=gateway.settings" in seen
    for secret in (SECRET_KEY, ENCRYPTION_KEY, "redis-password-4444"):
        assert secret not in seen
