"""The ``acp`` provider type with a scripted ACP agent: chat completions through
the OpenAI SDK, streaming and not, with the agent's updates relayed as chunks."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from providers.adapters.subprocess_util import pid_alive
from tests.contracts.http_api.helpers import SCRIPTED_ACP_AGENT as AGENT
from tests.contracts.http_api.helpers import sdk_client


@pytest.fixture(autouse=True)
def _programs_allowed(allow_programs):
    """The operator lists the test's program."""
    allow_programs(sys.executable)


@pytest.fixture
def acp(make_provider, agent_log):
    return make_provider(
        name="agent", provider_type="acp", api_key="sk-ant-provider-secret-5555",
        settings={"command": sys.executable, "args": [AGENT], "timeout": 30, "models": ["text", "reasoning"],
                  "env": {"SCRIPTED_ACP_LOG": agent_log.path, "SCRIPTED_ACP_EXTRA": "from-settings"}},
    )


@pytest.fixture
def client(live_gateway, gateway_key):
    return sdk_client(live_gateway, gateway_key, timeout=30)


def test_acp_streams_agent_message_chunks(acp, client, agent_log):
    chunks = list(client.chat.completions.create(
        model="agent/text", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True},
    ))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from fake"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 8
    assert len({c.id for c in chunks}) == 1
    started = [e for e in agent_log() if "pid" in e]
    assert len(started) == 1
    assert not pid_alive(started[0]["pid"])


def test_acp_non_streaming_collects_the_turn(acp, client):
    completion = client.chat.completions.create(model="agent/text", messages=[{"role": "user", "content": "hi"}])
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "Hello from fake"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.prompt_tokens == 5 and completion.usage.completion_tokens == 3


def test_acp_speaks_json_rpc_and_renders_the_conversation(acp, client, agent_log):
    completion = client.chat.completions.create(model="agent/echo", messages=[
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": [{"type": "text", "text": "And 3+3?"}]},
    ])
    blocks = json.loads(completion.choices[0].message.content)
    assert blocks == [
        {"type": "text", "text": "<system>\nBe terse.\n</system>"},
        {"type": "text", "text": "<conversation>\nUser: What is 2+2?\n\nAssistant: 4\n</conversation>"},
        {"type": "text", "text": "And 3+3?"},
    ]
    received = [e["received"] for e in agent_log() if "received" in e]
    assert [m.get("method") for m in received] == ["initialize", "session/new", "session/set_config_option", "session/prompt"]
    assert all(m["jsonrpc"] == "2.0" for m in received)
    assert received[0]["params"]["protocolVersion"] == 1
    assert received[0]["params"]["clientCapabilities"] == {
        "fs": {"readTextFile": False, "writeTextFile": False}, "terminal": False}
    assert received[1]["params"]["mcpServers"] == []
    assert received[2]["params"] == {"sessionId": "sess-1", "configId": "model", "value": "echo"}
    started = next(e for e in agent_log() if "pid" in e)
    assert received[1]["params"]["cwd"] == started["cwd"]
    assert not Path(started["cwd"]).exists(), "the per-request working directory is removed afterwards"


def test_acp_child_gets_the_provider_key_and_env_but_not_gateway_secrets(acp, client, agent_log):
    client.chat.completions.create(model="agent/text", messages=[{"role": "user", "content": "hi"}])
    env = next(e for e in agent_log() if "pid" in e)["env"]
    assert env == {"ANTHROPIC_API_KEY": "sk-ant-provider-secret-5555", "SCRIPTED_ACP_EXTRA": "from-settings",
                   "SECRET_KEY": None}


def test_acp_thoughts_become_reasoning_content(acp, client):
    chunks = list(client.chat.completions.create(
        model="agent/reasoning", messages=[{"role": "user", "content": "?"}], stream=True))
    first = chunks[0].choices[0].delta
    assert first.role == "assistant" and first.model_extra["reasoning_content"] == "Let me think"
    reasoning = "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content") or "" for c in chunks)
    assert reasoning == "Let me think carefully."
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "42"
    completion = client.chat.completions.create(model="agent/reasoning", messages=[{"role": "user", "content": "?"}])
    assert completion.choices[0].message.model_extra["reasoning_content"] == "Let me think carefully."
    assert completion.choices[0].message.content == "42"


def test_acp_tool_and_plan_updates_are_not_shown_as_text(acp, client):
    completion = client.chat.completions.create(model="agent/tool", messages=[{"role": "user", "content": "?"}])
    assert completion.choices[0].message.content == "Looking. Done."
    assert completion.choices[0].message.tool_calls is None


@pytest.mark.parametrize(("model", "finish"), [("max_tokens", "length"), ("max_turn_requests", "length"),
                                               ("refusal", "content_filter")])
def test_acp_stop_reason_becomes_finish_reason(acp, client, model, finish):
    chunks = list(client.chat.completions.create(
        model=f"agent/{model}", messages=[{"role": "user", "content": "?"}], stream=True))
    assert chunks[-1].choices[0].finish_reason == finish
    completion = client.chat.completions.create(model=f"agent/{model}", messages=[{"role": "user", "content": "?"}])
    assert completion.choices[0].finish_reason == finish
    assert completion.choices[0].message.content == "Partial"


def test_acp_models_are_the_configured_list(acp, client):
    ids = [m.id for m in client.models.list()]
    assert "agent/text" in ids and "agent/reasoning" in ids


def test_acp_without_configured_models_offers_the_agents_default(make_provider, client):
    make_provider(name="bare", provider_type="acp", settings={"command": sys.executable, "args": [AGENT]})
    assert "bare/default" in [m.id for m in client.models.list()]
    completion = client.chat.completions.create(model="bare/default", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == "Hello from fake"
