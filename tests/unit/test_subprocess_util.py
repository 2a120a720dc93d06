"""The shared child-process helpers: environment, process-group kill."""
from __future__ import annotations

import asyncio
import sys

import pytest

from providers.adapters.base import ProviderConfig, UpstreamError
from providers.adapters.subprocess_util import child_env, pid_alive, spawn
from providers.redact import mask


@pytest.fixture(autouse=True)
def _programs_allowed(allow_programs):
    """The operator lists the programs these tests start."""
    allow_programs(sys.executable, "/nonexistent/program")


def _config(**settings):
    return ProviderConfig(id=1, name="p", provider_type="claude_cli", base_url="", api_key="sk-secret-abcdef",
                          settings=settings)


def test_child_env_is_an_allowlist_plus_settings_plus_key(monkeypatch):
    monkeypatch.setenv("GATEWAY_ENCRYPTION_KEY", "do-not-pass")
    monkeypatch.setenv("PATH", "/usr/bin")
    env = child_env(_config(env={"ANTHROPIC_BASE_URL": "http://x"}), key_var="ANTHROPIC_API_KEY")
    assert env["PATH"] == "/usr/bin"
    assert env["ANTHROPIC_BASE_URL"] == "http://x"
    assert env["ANTHROPIC_API_KEY"] == "sk-secret-abcdef"
    assert "GATEWAY_ENCRYPTION_KEY" not in env


def test_mask_hides_secrets():
    assert mask("key sk-secret-abcdef leaked", ("sk-secret-abcdef",)) == "key *** leaked"


async def test_kill_stops_the_whole_process_group(tmp_path):
    script = "import subprocess, sys, time; p = subprocess.Popen(['sleep', '600']); print(p.pid, flush=True); time.sleep(600)"
    child = await spawn([sys.executable, "-c", script], env={"PATH": "/usr/bin:/bin"})
    grandchild = int((await child.readline(None)).strip())
    assert pid_alive(child.pid) and pid_alive(grandchild)
    await child.kill()
    assert not pid_alive(child.pid)
    for _ in range(500):
        if not pid_alive(grandchild):
            break
        await asyncio.sleep(0.01)
    assert not pid_alive(grandchild)


async def test_missing_program_is_an_upstream_error():
    with pytest.raises(UpstreamError) as info:
        await spawn(["/nonexistent/program"], env={})
    assert (info.value.status, info.value.code) == (502, "command_not_found")


async def test_timeout_and_garbage_lines(tmp_path):
    child = await spawn([sys.executable, "-c", "print('{\"a\": 1}'); print('junk', flush=True); import time; time.sleep(600)"],
                        env={"PATH": "/usr/bin:/bin"})
    try:
        lines = child.json_lines(None)
        assert await lines.__anext__() == {"a": 1}
        with pytest.raises(UpstreamError) as info:
            await lines.__anext__()
        assert info.value.code == "upstream_invalid_response"
        with pytest.raises(UpstreamError) as info:
            await child.readline(0.0)  # a deadline already passed
        assert info.value.status == 504
    finally:
        await child.kill()


async def test_a_child_ignoring_sigterm_is_killed_anyway(monkeypatch):
    from providers.adapters import subprocess_util

    monkeypatch.setattr(subprocess_util, "KILL_GRACE", 0.2)
    script = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(600)"
    child = await spawn([sys.executable, "-c", script], env={"PATH": "/usr/bin:/bin"})
    assert (await child.readline(None)).strip() == b"ready"
    await child.kill()
    assert not pid_alive(child.pid)
    assert child.proc.returncode == -9
