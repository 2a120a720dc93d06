"""The real Claude Code CLI pointed at the gateway (``ANTHROPIC_BASE_URL``, a
gateway key as ``ANTHROPIC_API_KEY``), its own model ids mapped by
``GATEWAY_MODEL_ALIASES``, answering through a ``custom`` provider backed by the
loopback OpenAI-compatible fake: one prompt, and a turn where it runs a tool."""
from __future__ import annotations

import json
import subprocess

import pytest

from tests.outside import npm_program


@pytest.fixture
def claude_env(live_gateway, gateway_key, make_provider, upstream, settings, tmp_path):
    make_provider(name="local", base_url=upstream.base_url)
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "work").mkdir()
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": live_gateway.url,
        "ANTHROPIC_API_KEY": gateway_key,
        "IS_SANDBOX": "1",
        # Offline: no telemetry, updates, error reports or other side traffic.
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "CLAUDE_CODE_MAX_RETRIES": "0",
    }


def run_claude(env: dict[str, str], cwd: str, *args: str) -> dict:
    command = npm_program("claude")
    done = subprocess.run([command, "-p", "hi", "--output-format", "json", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:] + done.stdout[-2000:]
    return json.loads(done.stdout)


def test_claude_code_answers_through_a_custom_provider(claude_env, settings, upstream, tmp_path):
    settings.GATEWAY_MODEL_ALIASES = "claude-*=local/text"
    result = run_claude(claude_env, str(tmp_path / "work"))
    assert result["result"] == "Hello from fake" and result["is_error"] is False
    asked = [r.body for r in upstream.requests if r.path == "/v1/chat/completions"]
    main = asked[-1]
    assert main["model"] == "text" and main["stream"] is True
    assert main["messages"][0]["role"] == "system"  # Claude Code's system prompt, translated
    assert any(t["function"]["name"] == "Bash" for t in main["tools"])  # its tools, as functions


def test_claude_code_runs_a_tool_and_answers_with_its_result(claude_env, settings, upstream, tmp_path):
    settings.GATEWAY_MODEL_ALIASES = "claude-*haiku*=local/text,claude-*=local/bash-echo"
    result = run_claude(claude_env, str(tmp_path / "work"), "--allowedTools", "Bash")
    assert result["result"] == "Tool said: tool-ran-42"
    turns = [r.body for r in upstream.requests if r.body and r.body.get("model") == "bash-echo"]
    assert len(turns) == 2
    assert turns[1]["messages"][-1]["role"] in ("tool", "user")
    assert any(m["role"] == "tool" and m["tool_call_id"] == "call_bash1" and "tool-ran-42" in m["content"]
               for m in turns[1]["messages"])
