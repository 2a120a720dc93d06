"""Every provider secret (API key, header values, ``extra_query`` values, ``env``
values) is masked in what the gateway relays from an upstream: /v1 error bodies
(before a stream and inside one, on both request paths), a program's stderr,
probe reports, and the config export. Upstreams here quote the whole request
they refused (URL with its query string, every header) or print their environment.
The session's secret scanner (tests/secret_scan.py) also watches every log line."""
from __future__ import annotations

import json
import sys

import httpx
import pytest

from providers.onboarding import config_io, probe
from tests.contracts.http_api.helpers import SCRIPTED_ACP_AGENT
from tests.fakes.scripted_cli import command_for

API_KEY = "sk-redacted-api-key-A1b2"
HEADER_SECRET = "hdr-redacted-secret-C3d4"
QUERY_SECRET = "qry+redacted/secret=E5f6"  # characters that are percent-encoded in a URL
ENV_SECRET = "env-redacted-secret-G7h8"
SECRETS = (API_KEY, HEADER_SECRET, QUERY_SECRET, ENV_SECRET)


def assert_clean(text: str) -> None:
    from urllib.parse import quote, quote_plus

    for secret in SECRETS:
        for form in {secret, quote(secret, safe=""), quote_plus(secret, safe="")}:
            assert form not in text


@pytest.fixture
def echo_provider(make_provider, faulty):
    return make_provider(
        name="echo", base_url=faulty.base_url, api_key=API_KEY, extra_headers={"X-Api-Key": HEADER_SECRET},
        settings={"extra_query": {"key": QUERY_SECRET}, "default_model": "echo-request"},
    )


def chat(url: str, key: str, model: str, stream: bool) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]},
                      timeout=30)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_an_upstream_quoting_the_request_gets_every_secret_masked(any_gateway, echo_provider, gateway_key, stream):
    resp = chat(any_gateway.url, gateway_key, "echo/echo-request", stream)
    assert resp.status_code == 400
    message = resp.json()["error"]["message"]
    assert_clean(resp.text)
    assert "/chat/completions?key=*** " in message  # the query was quoted, its value masked
    assert "authorization: Bearer ***" in message and "x-api-key: ***" in message


def test_an_error_event_mid_stream_has_every_secret_masked(any_gateway, echo_provider, gateway_key):
    resp = chat(any_gateway.url, gateway_key, "echo/echo-request-mid", True)
    assert resp.status_code == 200
    events = [block[6:] for block in resp.text.split("\n\n") if block.startswith("data: ")]
    message = json.loads(events[-1])["error"]["message"]
    assert_clean(resp.text)
    assert "?key=***" in message and "x-api-key: ***" in message


def test_a_probe_report_has_every_secret_masked(echo_provider):
    report = probe.probe_provider(echo_provider)
    text = json.dumps(report.as_dict(), ensure_ascii=False) + " ".join(i.message() for i in report.items)
    assert_clean(text)
    stream = next(i for i in report.items if i.key == "stream")
    assert stream.status == "fail" and "?key=***" in stream.message()


def test_the_staff_model_listing_has_every_secret_masked(admin_client, make_provider, faulty):
    provider = make_provider(name="lister", base_url=faulty.base_url, api_key=API_KEY,
                             settings={"extra_query": {"key": QUERY_SECRET, "echo": "1"}})
    resp = admin_client.get(f"/api/providers/{provider.pk}/models/")
    assert resp.status_code == 200
    assert_clean(resp.content.decode())
    assert resp.json()["next"].startswith("/v1/models?key=***")


def test_the_export_writes_references_never_values(echo_provider, make_provider):
    make_provider(name="cli", provider_type="claude_cli", settings={"command": "claude", "env": {"TOKEN": ENV_SECRET}})
    document = config_io.export_document()
    for fmt in ("yaml", "json"):
        assert_clean(config_io.dump(document, fmt))
    cli, echo = document["providers"]
    assert echo["settings"]["extra_query"] == {"key": {"env": "ECHO_QUERY_KEY"}}
    assert cli["settings"]["env"] == {"TOKEN": {"env": "TOKEN"}}


@pytest.fixture
def env_printing(make_provider, tmp_path, allow_programs):
    """A claude_cli and an acp provider whose programs print their environment to
    stderr, then fail."""
    allow_programs(command_for(str(tmp_path)), sys.executable)
    make_provider(name="cli", provider_type="claude_cli", api_key=API_KEY,
                  settings={"command": command_for(str(tmp_path)), "timeout": 30,
                            "env": {"SCRIPTED_CLI_MODE": "envdump", "CLI_TOKEN": ENV_SECRET}})
    make_provider(name="agent", provider_type="acp", api_key=API_KEY,
                  settings={"command": sys.executable, "args": [SCRIPTED_ACP_AGENT, "--mode", "envdump-on-start"],
                            "timeout": 30, "models": ["text"], "env": {"AGENT_TOKEN": ENV_SECRET}})


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize(("model", "name"), [("cli/sonnet", "CLI_TOKEN"), ("agent/text", "AGENT_TOKEN")])
def test_a_program_printing_its_environment_gets_every_secret_masked(live_gateway, env_printing, gateway_key,
                                                                      model, name, stream):
    resp = chat(live_gateway.url, gateway_key, model, stream)
    assert resp.status_code == 502
    message = resp.json()["error"]["message"]
    assert_clean(resp.text)
    assert f"{name}=***" in message  # the echo reached the client, masked
