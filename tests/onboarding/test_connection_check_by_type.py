"""The connection test checks what each type really needs: a backend without a
model listing (Anthropic-compatible, Codex) passes when a one-word request is
answered; a program-based provider passes only when its program answers a
one-word prompt, and fails with the program's own error otherwise."""
from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from aiohttp import web

from providers import services
from providers.onboarding import probe
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.scripted_acp_agent import __file__ as ACP_AGENT
from tests.fakes.scripted_cli import command_for

SECRET = "sk-ant-connection-check-SECRET"


@dataclass
class AnthropicWithoutListing(FakeAnthropic):
    """An Anthropic-compatible proxy that serves /v1/messages and no /v1/models."""

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/messages", self.messages)
        app.router.add_route("*", "/{tail:.*}", self.fallback)
        return app


@pytest.fixture
def no_listing():
    server = AnthropicWithoutListing().start()
    yield server
    server.stop()


def test_anthropic_without_models_endpoint_passes_by_a_one_token_request(db, no_listing):
    provider = services.provider_create(name="claude-proxy", provider_type="anthropic", base_url=no_listing.base_url,
                                        api_key=SECRET, settings={"models": ["claude-sonnet-4-5"]})
    result = probe.check_connection(provider)
    assert (result.ok, result.reachable, result.cause) == (True, True, "ok_tiny_request")
    assert result.models == ["claude-sonnet-4-5"]
    sent = no_listing.message_requests()[-1].body
    assert sent["model"] == "claude-sonnet-4-5" and sent["max_tokens"] == 1
    assert "one-word request to claude-sonnet-4-5 was answered" in result.message()
    assert "HTTP 404" in result.message()


def test_anthropic_whose_request_fails_reports_the_backends_reason(db, no_listing):
    provider = services.provider_create(name="claude-proxy", provider_type="anthropic", base_url=no_listing.base_url,
                                        api_key=SECRET, settings={"models": ["status-401"]})
    result = probe.check_connection(provider)
    assert (result.ok, result.cause) == (False, "tiny_request_failed")
    assert "fake says 401" in result.message() and SECRET not in result.message()


def test_codex_without_models_endpoint_passes_by_a_minimal_responses_call(db, responses_upstream):
    provider = services.provider_create(name="codex", provider_type="codex", base_url=responses_upstream.base_url,
                                        api_key="sk-codex-SECRET", settings={"models": ["gpt-5-codex"]})
    result = probe.check_connection(provider)
    assert (result.ok, result.cause) == (True, "ok_tiny_request")
    sent = responses_upstream.last().body
    assert sent["model"] == "gpt-5-codex" and "max_output_tokens" not in sent


@pytest.fixture
def cli(allow_programs, tmp_path):
    command = command_for(str(tmp_path))
    allow_programs(command)
    return command


def test_claude_cli_that_answers_is_ok(db, cli):
    provider = services.provider_create(name="cli", provider_type="claude_cli",
                                        settings={"command": cli, "env": {"SCRIPTED_CLI_MODE": "ok"}})
    result = probe.check_connection(provider)
    assert (result.ok, result.cause) == (True, "program_ok")
    assert result.models == ["sonnet", "opus", "haiku"]


def test_claude_cli_whose_backend_is_unreachable_fails_fast_with_its_retry_event(db, cli):
    provider = services.provider_create(name="cli", provider_type="claude_cli",
                                        settings={"command": cli, "env": {"SCRIPTED_CLI_MODE": "api-retry"}})
    started = time.monotonic()
    result = probe.check_connection(provider)
    assert time.monotonic() - started < 8
    assert (result.ok, result.reachable, result.cause) == (False, False, "program_failed")
    assert "could not reach its API" in result.message()


def test_acp_agent_that_never_answers_is_not_ok(db, allow_programs):
    import sys

    allow_programs(sys.executable)
    provider = services.provider_create(name="agent", provider_type="acp", settings={
        "command": sys.executable, "args": [ACP_AGENT], "models": ["hang"], "timeout": 60})
    started = time.monotonic()
    result = probe.check_connection(provider, timeout=2)
    assert time.monotonic() - started < 10
    assert (result.ok, result.cause) == (False, "program_failed")
    assert "did not answer in time" in result.message()


def test_acp_agent_that_answers_is_ok(db, allow_programs):
    import sys

    allow_programs(sys.executable)
    provider = services.provider_create(name="agent", provider_type="acp", settings={
        "command": sys.executable, "args": [ACP_AGENT]})
    result = probe.check_connection(provider)
    assert (result.ok, result.cause) == (True, "program_ok"), result.message()
