"""The real Codex CLI (``codex exec``) with a model provider pointed at the
gateway's /v1 (``wire_api = "responses"``) and a gateway key, answering one prompt
through a ``custom`` provider backed by the loopback OpenAI-compatible fake."""
from __future__ import annotations

import subprocess

import pytest

from tests.outside import npm_program

CONFIG = """\
model = "local/text"
model_provider = "gateway"
check_for_update_on_startup = false

[analytics]
enabled = false

[model_providers.gateway]
name = "LLM gateway"
base_url = "{url}/v1"
env_key = "GATEWAY_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
"""


@pytest.fixture
def codex_home(live_gateway, make_provider, upstream, tmp_path):
    make_provider(name="local", base_url=upstream.base_url)
    home = tmp_path / "codex"
    home.mkdir()
    (home / "config.toml").write_text(CONFIG.format(url=live_gateway.url))
    (tmp_path / "work").mkdir()
    return home


def test_codex_exec_answers_through_a_custom_provider(codex_home, gateway_key, upstream, tmp_path):
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "CODEX_HOME": str(codex_home),
        "GATEWAY_API_KEY": gateway_key,
        # Offline: no update checks; the loopback-only provider is the only endpoint configured.
        "CODEX_DISABLE_UPDATE_CHECK": "1",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    done = subprocess.run(
        [npm_program("codex"), "exec", "--skip-git-repo-check", "--color", "never", "Say hello"],
        env=env, cwd=str(tmp_path / "work"), capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Hello from fake" in done.stdout
    sent = [r.body for r in upstream.requests if r.path == "/v1/chat/completions"][-1]
    assert sent["model"] == "text" and sent["stream"] is True
    assert sent["messages"][0]["role"] == "system"  # Codex's instructions
    assert any("Say hello" in str(m["content"]) for m in sent["messages"] if m["role"] == "user")
    # Its function tools arrive as functions, those of its tool namespaces one by one;
    # its hosted web_search is left out (a chat backend cannot run it).
    names = {t["function"]["name"] for t in sent["tools"]}
    assert {"exec_command", "close_agent"} <= names
    assert all(t["type"] == "function" for t in sent["tools"])
