"""/v1/messages and /v1/responses reach every provider type, not only their own
wire's: Messages to a ``codex`` provider or a ``claude_cli`` program, Responses to
an ``anthropic`` provider or a ``claude_cli`` program, translated through chat
completions and back (streamed and not) by the real SDKs."""
from __future__ import annotations

import anthropic
import pytest

from tests.contracts.http_api.helpers import sdk_client
from tests.fakes.scripted_cli import command_for

HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def providers(make_provider, anthropic_upstream, responses_upstream, allow_programs, tmp_path):
    make_provider(name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url, api_key="sk-a-1")
    make_provider(name="codex", provider_type="codex", base_url=responses_upstream.base_url, api_key="sk-c-1")
    work = tmp_path / "work"
    work.mkdir()
    command = command_for(str(tmp_path))
    allow_programs(command, tools=True)
    make_provider(name="cli", provider_type="claude_cli", api_key="sk-ant-cli-1",
                  settings={"command": command, "env": {"SCRIPTED_CLI_MODE": "ok"}, "cwd": str(work), "timeout": 30})


@pytest.mark.parametrize(("model", "text"), [("codex/text", "Hello from fake"), ("cli/sonnet", "Hello from script")])
def test_messages_to_other_wires(providers, live_gateway, gateway_key, model, text):
    with anthropic.Anthropic(base_url=live_gateway.url, api_key=gateway_key, max_retries=0, timeout=60) as sdk:
        message = sdk.messages.create(model=model, max_tokens=32, messages=HI)
        assert message.type == "message" and message.content[0].text == text and message.model == model
        with sdk.messages.stream(model=model, max_tokens=32, messages=HI) as stream:
            assert stream.get_final_text() == text


@pytest.mark.parametrize(("model", "text"), [("claude/text", "Hello from fake"), ("cli/sonnet", "Hello from script")])
def test_responses_to_other_wires(providers, live_gateway, gateway_key, model, text):
    with sdk_client(live_gateway, gateway_key, timeout=60) as sdk:
        response = sdk.responses.create(model=model, input="hi")
        assert response.status == "completed" and response.output_text == text and response.model == model
        events = list(sdk.responses.create(model=model, input="hi", stream=True))
        assert events[-1].type == "response.completed" and events[-1].response.output_text == text
