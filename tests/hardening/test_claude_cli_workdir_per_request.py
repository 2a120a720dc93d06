"""Each ``claude_cli`` request runs in its own empty working directory, removed
once the request ends, so no client sees what another client's run left behind."""
from __future__ import annotations

import json
import os

from providers import services
from tests.contracts.http_api.helpers import ask, sdk_client
from tests.fakes.scripted_cli import command_for


def test_every_request_gets_a_fresh_directory_that_is_removed_afterwards(live_gateway, gateway_key, tmp_path,
                                                                        allow_programs):
    command = command_for(str(tmp_path))
    allow_programs(command)
    record = tmp_path / "record.json"
    services.provider_create(name="cli", provider_type="claude_cli", settings={
        "command": command, "env": {"SCRIPTED_CLI_MODE": "ok", "SCRIPTED_CLI_RECORD": str(record)}})
    client = sdk_client(live_gateway, gateway_key, timeout=30)
    seen = []
    for stream in (False, True, False):
        ask(client, "cli/sonnet", stream=stream)
        seen.append(json.loads(record.read_text())["cwd"])
    assert len(set(seen)) == 3
    for directory in seen:
        assert os.path.basename(directory).startswith("gateway-claude-cli-")
        assert not os.path.exists(directory)
