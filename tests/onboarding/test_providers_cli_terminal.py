"""The ``providers`` command as operators run it: a real ``manage.py`` process on
its own database, colours on a terminal (a pseudo-terminal here), plain text
and JSON when piped."""
from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ESC = "\x1b["


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    var = tmp_path_factory.mktemp("cli-var")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "DJANGO_", "NO_COLOR", "DATABASE_URL"))}
    env.update({
        "GATEWAY_TESTING": "1", "GATEWAY_VAR_DIR": str(var), "GATEWAY_SQLITE_PATH": str(var / "cli.sqlite3"),
        "DJANGO_SETTINGS_MODULE": "gateway.settings", "TERM": "xterm-256color", "COLUMNS": "160",
    })
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=120)
    return env


def manage(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "manage.py", "providers", *args], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=60, check=check)


def on_terminal(env: dict[str, str], *args: str) -> str:
    """Run with stdout and stderr on a pseudo-terminal; return what it showed."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "manage.py", "providers", *args], cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


def test_tables_are_coloured_on_a_terminal_and_plain_when_piped(cli_env, upstream):
    manage(cli_env, "add", "alive", "--base-url", upstream.base_url)
    manage(cli_env, "add", "dead", "--base-url", "http://dead.invalid/v1")

    shown = on_terminal(cli_env, "test", "--all")
    assert ESC in shown
    assert "alive" in shown and "dead" in shown
    assert "Testing providers" in shown  # the progress bar

    piped = manage(cli_env, "test", "--all", check=False)
    assert piped.returncode == 1
    assert ESC not in piped.stdout + piped.stderr
    assert "1 of 2 providers failed the check." in piped.stderr
    for heading in ("Name", "Type", "Status", "Latency", "Models"):
        assert heading in piped.stdout

    rows = json.loads(manage(cli_env, "test", "alive", "--json").stdout)
    assert [(r["name"], r["ok"], r["model_count"]) for r in rows] == [("alive", True, 3)]


def test_export_to_a_file_and_import_it_back(cli_env, tmp_path):
    manage(cli_env, "add", "exported", "--base-url", "http://127.0.0.1:9/v1", "--model", "m1")
    target = tmp_path / "catalog.json"
    manage(cli_env, "export", "-o", str(target))
    document = json.loads(target.read_text())
    exported = next(p for p in document["providers"] if p["name"] == "exported")
    assert exported == {"name": "exported", "type": "custom", "base_url": "http://127.0.0.1:9/v1", "models": ["m1"],
                        "enabled": True}
    result = json.loads(manage(cli_env, "import", str(target), "--json").stdout)
    assert {c["action"] for c in result["changes"]} == {"unchanged"}
