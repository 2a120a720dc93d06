"""The ``acp`` provider type with the real ACP agent ``claude-agent-acp`` (npm
``@agentclientprotocol/claude-agent-acp``), run offline against the fake Anthropic
Messages server, driven through the gateway by the official OpenAI SDK."""
from __future__ import annotations

import os
import time

import httpx
import pytest

from tests.contracts.http_api.helpers import chat_over_http, sdk_client
from tests.fakes.responses_upstream import shape_of
from tests.outside import npm_program

PROVIDER_KEY = "sk-ant-provider-key-for-acp-4242"


@pytest.fixture(autouse=True)
def _programs_allowed(allow_programs, agent_program):
    """The operator lists the test's program and lets the agent read its own HOME."""
    allow_programs(agent_program, tools=True)


@pytest.fixture
def agent_program():
    return npm_program("claude-agent-acp")


@pytest.fixture
def make_agent(make_provider, anthropic_upstream, agent_program, tmp_path):
    def make(name="claude", **env):
        home = tmp_path / f"home-{name}"
        home.mkdir()
        child_env = anthropic_upstream.client_env(str(home))
        child_env.pop("ANTHROPIC_API_KEY")  # the provider's key must get there by itself
        child_env.update(env)
        return make_provider(name=name, provider_type="acp", api_key=PROVIDER_KEY,
                             settings={"command": agent_program, "timeout": 120, "env": child_env})

    return make


@pytest.fixture
def client(live_gateway, gateway_key):
    return sdk_client(live_gateway, gateway_key, timeout=120)


def test_real_acp_agent_answers_streaming_and_not(make_agent, client, anthropic_upstream):
    make_agent()
    chunks = list(client.chat.completions.create(
        model="claude/default", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True},
    ))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from fake"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 6

    completion = client.chat.completions.create(model="claude/default", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == "Hello from fake"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.prompt_tokens == 12

    sent = anthropic_upstream.message_requests()
    assert sent, "the agent never called the Anthropic server"
    assert {r.headers.get("x-api-key") for r in sent} == {PROVIDER_KEY}


def test_real_acp_agent_switches_to_the_requested_model(make_agent, client, anthropic_upstream):
    make_agent()
    completion = client.chat.completions.create(model="claude/haiku", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == "Hello from fake"
    models = {r.body.get("model") for r in anthropic_upstream.message_requests()}
    assert any("haiku" in m for m in models), models


def test_real_acp_agent_thinking_becomes_reasoning_content(make_agent, client):
    # The agent's model comes from ANTHROPIC_MODEL; asking for it by name keeps it.
    make_agent(ANTHROPIC_MODEL="thinking")
    chunks = list(client.chat.completions.create(
        model="claude/thinking", messages=[{"role": "user", "content": "6*7?"}], stream=True))
    reasoning = "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content") or "" for c in chunks)
    assert reasoning == "Let me think carefully."
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "42"


def test_real_acp_agent_has_the_custom_shapes(make_agent, make_provider, upstream, live_gateway, gateway_key):
    make_agent()
    make_provider(name="custom", base_url=upstream.base_url)

    def events(model):
        ctype, chunks = chat_over_http(live_gateway, gateway_key, model, stream=True, timeout=120)
        assert ctype == "text/event-stream"
        return chunks

    custom, agent = events("custom/text"), events("claude/default")
    assert [shape_of(c) for c in agent] == [shape_of(c) for c in custom]
    assert [c["choices"][0]["delta"] for c in agent] == [c["choices"][0]["delta"] for c in custom]


def _descendants(root: int) -> set[int]:
    """Live (non-zombie) processes below ``root``, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != b"Z":
            parents[int(entry)] = int(fields[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def test_real_acp_agent_is_cancelled_and_stopped_when_the_client_leaves(make_agent, live_gateway, gateway_key,
                                                                        anthropic_upstream):
    make_agent(ANTHROPIC_MODEL="stall")
    before = _descendants(os.getpid())
    with httpx.Client(base_url=live_gateway.url, timeout=120) as http:
        with http.stream("POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {gateway_key}"},
                         json={"model": "claude/stall", "stream": True,
                               "messages": [{"role": "user", "content": "hi"}]}) as resp:
            assert resp.status_code == 200
            assert next(resp.iter_lines()).startswith("data: ")
            running = _descendants(os.getpid()) - before
            assert running, "no agent process was running during the turn"
    for _ in range(600):
        if not (running & _descendants(os.getpid())) and anthropic_upstream.disconnects:
            break
        time.sleep(0.025)
    assert not (running & _descendants(os.getpid())), "agent processes were left behind"
    assert anthropic_upstream.disconnects, "the agent's upstream call was not closed"
