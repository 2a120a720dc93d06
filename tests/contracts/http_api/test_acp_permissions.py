"""The ``acp`` provider type answers an agent's ``session/request_permission`` per
the provider's ``permission_policy``: deny by default (a reject option), allow
when configured (an allow option). Nobody is there to ask."""
from __future__ import annotations

import json
import sys

import pytest

from tests.contracts.http_api.helpers import SCRIPTED_ACP_AGENT as AGENT
from tests.contracts.http_api.helpers import sdk_client


@pytest.fixture
def client(live_gateway, gateway_key):
    return sdk_client(live_gateway, gateway_key, timeout=30)


@pytest.mark.parametrize(("policy", "answer"), [(None, "permission: selected no"), ("deny", "permission: selected no"),
                                                ("allow", "permission: selected yes")])
def test_acp_permission_requests_follow_the_policy(make_provider, client, tmp_path, policy, answer, allow_programs):
    # "allow" lets the agent use its tools: only where the deployment says so.
    allow_programs(sys.executable, tools=policy == "allow")
    log = tmp_path / "agent.jsonl"
    settings = {"command": sys.executable, "args": [AGENT], "env": {"SCRIPTED_ACP_LOG": str(log)}}
    if policy:
        settings["permission_policy"] = policy
    make_provider(name="agent", provider_type="acp", settings=settings)
    completion = client.chat.completions.create(model="agent/permission", messages=[{"role": "user", "content": "rm"}])
    assert completion.choices[0].message.content == answer
    replies = [json.loads(line)["received"] for line in log.read_text().splitlines() if "received" in line]
    reply = next(r for r in replies if "result" in r)
    assert reply == {"jsonrpc": "2.0", "id": 1000, "result": {
        "outcome": {"outcome": "selected", "optionId": answer.rsplit(" ", 1)[1]}}}

    chunks = list(client.chat.completions.create(model="agent/permission", stream=True,
                                                 messages=[{"role": "user", "content": "rm"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == answer
