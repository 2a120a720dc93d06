"""Settings that give an agent its own tools, bypass its permission prompts or pick
where it reads its configuration are the deployment's choice
(GATEWAY_ALLOW_AGENT_TOOLS); variables that change how a program is loaded are
never accepted. Refused at save time with the setting named, and again at run time
for rows saved before."""
from __future__ import annotations

import httpx
import pytest
from django.core.exceptions import ValidationError

from providers import services

TOOL_SETTINGS = [
    ("claude_cli", {"args": ["--dangerously-skip-permissions"]}, "args"),
    ("claude_cli", {"args": ["--allowedTools", "Bash"]}, "args"),
    ("claude_cli", {"args": ["--tools=Bash,Read"]}, "args"),
    ("claude_cli", {"args": ["--permission-mode", "bypassPermissions"]}, "args"),
    ("claude_cli", {"args": ["--mcp-config", "/tmp/x.json"]}, "args"),
    ("claude_cli", {"args": ["--settings=/tmp/hooks.json"]}, "args"),
    ("claude_cli", {"args": ["--add-dir", "/"]}, "args"),
    ("claude_cli", {"args": ["-c"]}, "args"),
    ("claude_cli", {"args": ["-pr"]}, "args"),
    ("claude_cli", {"args": ["--resume", "abc"]}, "args"),
    ("claude_cli", {"env": {"HOME": "/tmp/other"}}, "env"),
    ("claude_cli", {"env": {"CLAUDE_CONFIG_DIR": "/tmp/other"}}, "env"),
    ("claude_cli", {"cwd": "/tmp"}, "cwd"),
    ("acp", {"command": "claude-agent-acp", "permission_policy": "allow"}, "permission_policy"),
    ("acp", {"command": "claude-agent-acp", "cwd": "/srv"}, "cwd"),
]
LOADER_SETTINGS = ["LD_PRELOAD", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES", "PATH", "PYTHONPATH", "NODE_OPTIONS",
                   "BASH_ENV", "ld_preload"]


def _create(ptype: str, values: dict) -> None:
    services.provider_create(name="agent", provider_type=ptype, settings=values)


@pytest.mark.parametrize(("ptype", "values", "key"), TOOL_SETTINGS)
def test_tool_settings_need_the_deployment_to_allow_them(db, settings, ptype, values, key):
    with pytest.raises(ValidationError) as caught:
        _create(ptype, values)
    [message] = caught.value.message_dict["settings"]
    assert message.startswith(f"{key}: ") and "GATEWAY_ALLOW_AGENT_TOOLS=true" in message
    settings.GATEWAY_ALLOW_AGENT_TOOLS = True
    _create(ptype, values)


@pytest.mark.parametrize("name", LOADER_SETTINGS)
def test_loader_variables_are_never_accepted(db, settings, name):
    settings.GATEWAY_ALLOW_AGENT_TOOLS = True
    with pytest.raises(ValidationError) as caught:
        _create("claude_cli", {"env": {name: "/tmp/evil.so"}})
    assert caught.value.message_dict["settings"] == [
        f"env: The variable {name} cannot be set: it changes how the program is loaded."]


def test_harmless_arguments_and_variables_are_accepted(db):
    _create("claude_cli", {"args": ["--append-system-prompt", "Be brief.", "--disallowedTools", "Bash",
                                    "--max-turns=1", "-p"],
                           "env": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9", "DISABLE_TELEMETRY": "1"}})


def test_a_row_saved_when_tools_were_allowed_does_not_run_later(live_gateway, gateway_key, settings, tmp_path):
    settings.GATEWAY_ALLOW_AGENT_TOOLS = True
    _create("claude_cli", {"args": ["--dangerously-skip-permissions"]})
    settings.GATEWAY_ALLOW_AGENT_TOOLS = False
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        response = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {gateway_key}"},
                               json={"model": "agent/sonnet", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "program_not_allowed"
    assert error["message"].startswith("args: ") and "GATEWAY_ALLOW_AGENT_TOOLS" in error["message"]
