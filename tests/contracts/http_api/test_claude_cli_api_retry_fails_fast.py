"""A ``claude_cli`` provider whose CLI cannot reach its API (it prints
``system``/``api_retry`` lines and keeps retrying) fails within seconds with a
502 naming the cause, instead of holding the client for the provider's timeout."""
from __future__ import annotations

import time

import openai
import pytest

from tests.contracts.http_api.helpers import ask, sdk_client
from tests.fakes.scripted_cli import command_for, processes_in


@pytest.fixture(autouse=True)
def _programs_allowed(allow_programs, tmp_path):
    allow_programs(command_for(str(tmp_path)), tools=True)


@pytest.fixture
def model(make_provider, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    make_provider(name="retrying", provider_type="claude_cli",
                  settings={"command": command_for(str(tmp_path)), "env": {"SCRIPTED_CLI_MODE": "api-retry"},
                            "cwd": str(work), "timeout": 60})
    yield "retrying/sonnet"
    assert processes_in(str(work)) == [], "the retrying CLI was left running"


@pytest.mark.parametrize("stream", [False, True])
def test_first_api_retry_ends_the_request_with_a_502_naming_the_cause(model, live_gateway, gateway_key, stream):
    with sdk_client(live_gateway, gateway_key, timeout=60) as client:
        started = time.monotonic()
        with pytest.raises(openai.InternalServerError) as info:
            ask(client, model, stream=stream)
        elapsed = time.monotonic() - started
    assert elapsed < 10, f"waited {elapsed:.1f} s for a CLI that reported api_retry at once"
    assert info.value.status_code == 502
    assert info.value.body["type"] == "upstream_error"
    assert "could not reach its API" in info.value.body["message"]
    assert "up to 10 times" in info.value.body["message"]
