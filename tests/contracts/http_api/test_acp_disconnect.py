"""The ``acp`` provider type when the client goes away mid-turn: the agent gets
``session/cancel`` and its process is then stopped; nothing is left running."""
from __future__ import annotations

import json
import sys
import time

import httpx

from providers.adapters.subprocess_util import pid_alive
from tests.contracts.http_api.helpers import SCRIPTED_ACP_AGENT as AGENT


def test_acp_client_disconnect_cancels_the_session_and_stops_the_agent(make_provider, live_gateway, gateway_key,
                                                                       tmp_path, allow_programs):
    allow_programs(sys.executable)
    log = tmp_path / "agent.jsonl"
    make_provider(name="agent", provider_type="acp",
                  settings={"command": sys.executable, "args": [AGENT], "env": {"SCRIPTED_ACP_LOG": str(log)}})
    with httpx.Client(base_url=live_gateway.url, timeout=30) as http:
        with http.stream("POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {gateway_key}"},
                         json={"model": "agent/slow", "stream": True,
                               "messages": [{"role": "user", "content": "count"}]}) as resp:
            assert resp.status_code == 200
            lines = resp.iter_lines()
            assert next(lines).startswith("data: ")
            assert next(lines) == ""
            assert next(lines).startswith("data: ")

    def entries():
        return [json.loads(line) for line in log.read_text().splitlines()]

    pid = next(e["pid"] for e in entries() if "pid" in e)
    for _ in range(400):  # the gateway notices the disconnect on its next write
        if not pid_alive(pid):
            break
        time.sleep(0.025)
    assert not pid_alive(pid), "the agent was left running after the client went away"
    methods = [e["received"].get("method") for e in entries() if "received" in e]
    assert methods[-1] == "session/cancel"
    assert methods[-2] == "session/prompt"
