"""The ``acp`` provider type when the agent misbehaves: a missing program, a crash,
garbage on stdout, a hang, an error answer. Each reaches the OpenAI SDK as an
OpenAI-shaped error (an HTTP status before the stream, an error event during it),
and no agent process is left running afterwards."""
from __future__ import annotations

import json
import sys

import openai
import pytest

from providers.adapters.subprocess_util import pid_alive
from tests.contracts.http_api.helpers import SCRIPTED_ACP_AGENT as AGENT
from tests.contracts.http_api.helpers import ask, chunks_before_error, sdk_client, text_of

SECRET = "sk-ant-provider-secret-7777"


@pytest.fixture(autouse=True)
def _programs_allowed(allow_programs):
    """The operator lists the test's program."""
    allow_programs(sys.executable, "/nonexistent/agent-binary")


@pytest.fixture
def make_agent(make_provider, agent_log):
    def make(mode="normal", timeout=30, command=sys.executable):
        return make_provider(
            name="agent", provider_type="acp", api_key=SECRET,
            settings={"command": command, "args": [AGENT, "--mode", mode], "timeout": timeout,
                      "env": {"SCRIPTED_ACP_LOG": agent_log.path}},
        )

    return make


@pytest.fixture
def client(live_gateway, gateway_key):
    return sdk_client(live_gateway, gateway_key, timeout=30)


def _no_agent_left(agent_log):
    pids = [e["pid"] for e in agent_log() if "pid" in e] + [e["grandchild"] for e in agent_log() if "grandchild" in e]
    assert pids, "the agent never started"
    assert [p for p in pids if pid_alive(p)] == []


def test_acp_missing_program_is_a_502(make_agent, client):
    make_agent(command="/nonexistent/agent-binary")
    for stream in (False, True):
        with pytest.raises(openai.APIStatusError) as caught:
            ask(client, "agent/text", stream=stream)
        assert caught.value.status_code == 502
        assert caught.value.body["code"] == "command_not_found"


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("mode", "model", "status", "code", "message"),
    [
        ("crash-on-start", "text", 502, "agent_exited", "scripted start-up crash"),
        ("garbage-on-start", "text", 502, "upstream_invalid_response", "not JSON-RPC"),
        ("hang-on-start", "text", 504, "upstream_timeout", "did not answer in time"),
        ("normal", "prompt-error", 502, "agent_error", "model unavailable"),
    ],
)
def test_acp_failures_before_output_have_an_http_status(make_agent, client, agent_log, mode, model, status, code,
                                                        message, stream):
    make_agent(mode=mode, timeout=2 if mode == "hang-on-start" else 30)
    with pytest.raises(openai.APIStatusError) as caught:
        ask(client, f"agent/{model}", stream=stream)
    assert caught.value.status_code == status
    assert caught.value.body["code"] == code
    assert message in caught.value.message
    assert set(caught.value.body) == {"message", "type", "param", "code"}
    assert SECRET not in json.dumps(caught.value.body)
    _no_agent_left(agent_log)


@pytest.mark.parametrize(
    ("model", "timeout", "message"),
    [
        ("crash", 30, "scripted crash in the middle of a turn"),
        ("garbage", 30, "not JSON-RPC"),
        ("hang", 2, "did not answer in time"),
    ],
)
def test_acp_failures_mid_turn_end_the_stream_with_an_error(make_agent, client, agent_log, model, timeout, message):
    make_agent(timeout=timeout)
    received, error = chunks_before_error(client, f"agent/{model}")
    assert text_of(received) == "Partial"
    assert message in error.message
    _no_agent_left(agent_log)


@pytest.mark.parametrize("model", ["crash", "garbage"])
def test_acp_non_streaming_failures_are_errors_not_partial_answers(make_agent, client, agent_log, model):
    make_agent()
    with pytest.raises(openai.APIStatusError) as caught:
        ask(client, f"agent/{model}")
    assert caught.value.status_code == 502
    _no_agent_left(agent_log)


def test_acp_kills_the_agents_whole_process_group(make_agent, client, agent_log):
    make_agent(mode="leaky")
    assert ask(client, "agent/text").choices[0].message.content == "Hello from fake"
    assert any("grandchild" in e for e in agent_log())
    _no_agent_left(agent_log)
