"""A program that exits before reading its input gives the client a 502 with the
program's cause (exit status and the end of its stderr), not a 500. Under uvloop
(how docs/deployment.md serves the gateway) writing to the pipe of a child that has
already exited raises RuntimeError ("the handler is closed"), not BrokenPipeError."""
from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import httpx
import pytest
import uvloop

from providers import services
from providers.adapters.base import ProviderConfig, UpstreamError
from providers.adapters.claude_cli import ClaudeCliAdapter
from providers.adapters.subprocess_util import spawn
from tests.hardening.conftest import DjangoPathGateway

PROMPT = "x" * (1024 * 1024)

# Answers ``initialize`` only after it has exited: a grandchild holding its stdout
# (not its stdin) writes the answer, so the gateway's next write meets a closed pipe.
EARLY_EXIT_AGENT = """
import json, os, sys, time
request = json.loads(sys.stdin.readline())
if os.fork() == 0:
    os.close(0)
    time.sleep(0.5)
    print(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": {"protocolVersion": 1}}), flush=True)
    os._exit(0)
sys.stderr.write("agent: licence check failed\\n")
os._exit(3)
"""


def test_claude_cli_reports_the_exit_of_a_program_that_never_read_its_prompt(tmp_path, allow_programs):
    quitter = tmp_path / "quitter"
    quitter.write_text("#!/bin/sh\necho 'cannot start: no licence here' >&2\nexit 3\n")
    quitter.chmod(0o755)
    allow_programs(str(quitter))
    adapter = ClaudeCliAdapter(ProviderConfig(id=1, name="quits", provider_type="claude_cli", base_url="",
                                              api_key=None, settings={"command": str(quitter)}))

    async def run() -> UpstreamError:
        child = await spawn([str(quitter)], env={"PATH": "/usr/bin:/bin"})
        try:
            await child.wait(10)  # gone before the gateway writes a byte
            with pytest.raises(UpstreamError) as caught:
                async for _chunk in adapter._run(child, "sonnet", PROMPT, time.monotonic() + 30, False):
                    pass
            return caught.value
        finally:
            await child.kill()

    error = uvloop.run(run())
    assert (error.status, error.code) == (502, "upstream_process_failed")
    assert error.message == "The Claude Code CLI failed (exit status 3). cannot start: no licence here"


@pytest.fixture
def gateway(transactional_db) -> Iterator[DjangoPathGateway]:
    """The gateway as docs/deployment.md serves it: uvloop, httptools, the /v1 fast path."""
    gw = DjangoPathGateway(fast=True, loop="uvloop", http="httptools").start()
    yield gw
    gw.stop()


@pytest.mark.parametrize("stream", [False, True])
def test_an_agent_gone_before_the_next_message_is_a_502_with_its_cause(gateway, gateway_key, tmp_path,
                                                                        allow_programs, stream):
    agent = tmp_path / "agent.py"
    agent.write_text(EARLY_EXIT_AGENT)
    allow_programs(sys.executable)
    services.provider_create(name="quits", provider_type="acp",
                             settings={"command": sys.executable, "args": [str(agent)], "timeout": 30})
    response = httpx.post(f"{gateway.url}/v1/chat/completions", headers={"Authorization": f"Bearer {gateway_key}"},
                          json={"model": "quits/default", "stream": stream,
                                "messages": [{"role": "user", "content": "hi"}]}, timeout=60)
    assert response.status_code == 502, response.text[:500]
    error = response.json()["error"]
    assert error["code"] == "agent_exited"
    assert error["message"] == "The agent exited unexpectedly (exit code 3): agent: licence check failed"
