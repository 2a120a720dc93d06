"""The real Claude Code CLI behind a ``claude_cli`` provider, offline against the
fake Anthropic server, through the gateway and the official OpenAI SDK."""
from __future__ import annotations

import openai
import pytest

from tests.contracts.http_api.helpers import sdk_client
from tests.fakes.scripted_cli import processes_in
from tests.outside import npm_program

SECRET = "sk-ant-cli-secret-4242"


@pytest.fixture(autouse=True)
def _programs_allowed(allow_programs):
    """The operator lists the test's program and a working directory."""
    allow_programs(npm_program("claude"), tools=True)


@pytest.fixture
def cli(make_provider, anthropic_upstream, tmp_path):
    command = npm_program("claude")
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = anthropic_upstream.client_env(str(home))
    env.pop("ANTHROPIC_API_KEY")  # the provider's key is what the child must get
    make_provider(name="cli", provider_type="claude_cli", api_key=SECRET,
                  settings={"command": command, "env": env, "cwd": str(work), "timeout": 120})
    yield anthropic_upstream
    assert processes_in(str(work)) == [], "a CLI process was left behind"


@pytest.fixture
def client(live_gateway, gateway_key):
    with sdk_client(live_gateway, gateway_key, timeout=120) as c:
        yield c


def test_real_cli_completion(cli, client):
    answer = client.chat.completions.create(model="cli/text", messages=[{"role": "user", "content": "hi"}])
    assert answer.object == "chat.completion"
    assert answer.choices[0].message.content == "Hello from fake"
    assert answer.choices[0].finish_reason == "stop"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.usage.total_tokens) == (12, 6, 18)
    seen = cli.message_requests()[-1]
    assert seen.body["model"] == "text"
    assert seen.headers["x-api-key"] == SECRET
    assert seen.body.get("tools") in (None, [])  # the CLI's own tools are off


def test_real_cli_streams_live_deltas_and_usage(cli, client):
    chunks = list(client.chat.completions.create(
        model="cli/text", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "hi"}]))
    assert chunks[0].choices[0].delta.role == "assistant"
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert texts == ["Hello", " from", " fake"]  # the upstream's deltas, one chunk each
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 18


def test_real_cli_thinking_becomes_reasoning_content(cli, client):
    chunks = list(client.chat.completions.create(model="cli/thinking", stream=True,
                                                 messages=[{"role": "user", "content": "6*7?"}]))
    assert "".join(c.choices[0].delta.model_extra.get("reasoning_content") or "" for c in chunks) == "Let me think carefully."
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "42"
    answer = client.chat.completions.create(model="cli/thinking", messages=[{"role": "user", "content": "6*7?"}])
    assert answer.choices[0].message.model_extra["reasoning_content"] == "Let me think carefully."


def test_real_cli_gets_system_prompt_and_the_conversation(cli, client):
    answer = client.chat.completions.create(model="cli/echo", messages=[
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "My name is Lan."},
        {"role": "assistant", "content": "Hello Lan."},
        {"role": "user", "content": "What is my name?"},
    ])
    text = answer.choices[0].message.content
    assert "User: My name is Lan." in text and "Assistant: Hello Lan." in text
    assert text.rstrip().endswith("What is my name?")
    system = cli.message_requests()[-1].body["system"]
    assert any(block.get("text") == "You are terse." for block in system)


def test_real_cli_upstream_error_becomes_openai_error(cli, client):
    with pytest.raises(openai.AuthenticationError) as info:
        client.chat.completions.create(model="cli/status-401", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 401
    assert SECRET not in info.value.response.text
    with pytest.raises(openai.BadRequestError):
        list(client.chat.completions.create(model="cli/status-400", stream=True,
                                            messages=[{"role": "user", "content": "hi"}]))


def test_real_cli_models_are_the_configured_list(cli, client):
    ids = [m.id for m in client.models.list() if m.id.startswith("cli/")]
    assert ids == ["cli/sonnet", "cli/opus", "cli/haiku"]


def test_real_cli_alias_resolves_and_the_answer_names_the_requested_model(cli, client):
    answer = client.chat.completions.create(model="cli/sonnet", messages=[{"role": "user", "content": "hi"}])
    upstream_model = cli.message_requests()[-1].body["model"]
    assert upstream_model.startswith("claude-") and "sonnet" in upstream_model
    assert answer.model == "cli/sonnet"  # the id the client used, whatever the CLI resolved it to
    assert answer.choices[0].message.content == "Hello from fake"


def test_real_cli_is_killed_when_the_client_disconnects(cli, live_gateway, gateway_key, tmp_path):
    import time

    import httpx

    with httpx.Client(base_url=live_gateway.url, timeout=120) as http:
        with http.stream("POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {gateway_key}"},
                         json={"model": "cli/stall", "stream": True, "messages": [{"role": "user", "content": "hi"}]}) as resp:
            assert resp.status_code == 200
            chunks = resp.iter_bytes()  # kept referenced: a dropped iterator closes the response
            seen = b""
            while b"Hello" not in seen:
                seen += next(chunks)
            assert processes_in(str(tmp_path / "work")), "the CLI should be running while the answer streams"
    deadline = time.monotonic() + 20
    while processes_in(str(tmp_path / "work")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_in(str(tmp_path / "work")) == []
    while not cli.disconnects and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cli.disconnects, "the CLI's upstream request was not closed"
