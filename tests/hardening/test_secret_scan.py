"""The session-wide secret scanner (tests/secret_scan.py) itself: it learns the
secrets the suite creates and catches them in logs, responses and command output.
Each canary below leaks on purpose, checks the scanner saw it, then withdraws
that one finding so the session verdict covers only real leaks."""
from __future__ import annotations

import logging

import httpx
import pytest
from django.core.management import call_command

from tests import secret_scan
from tests.secret_scan import COLLECTOR, Collector


@pytest.fixture
def active(request):
    if not request.config.pluginmanager.has_plugin("tests.secret_scan"):
        pytest.fail("The secret scanner is not registered: add pytest_plugins = ['tests.secret_scan'] to tests/conftest.py")
    secret_scan._install()
    return COLLECTOR


def _withdraw(collector: Collector, secret: str) -> list:
    caught = [f for f in collector.findings if f.secret == secret]
    collector.findings[:] = [f for f in collector.findings if f.secret != secret]
    return caught


def test_collector_finds_secrets_and_respects_the_show_once_exemption():
    c = Collector()
    c.add("short", "provider key")  # too short to scan for without false alarms
    c.add("sk-live-0123456789abcdef", "provider key")
    c.add("gwk_abcdefghijklmnop", "gateway key")
    c.scan("nothing here", "log")
    c.scan(b'{"error": "bad key sk-live-0123456789abcdef"}', "response")
    c.scan("your new key: gwk_abcdefghijklmnop", "response", allowed={"gwk_abcdefghijklmnop"})
    c.scan("short", "log")
    assert [(f.where, f.secret) for f in c.findings] == [("response", "sk-live-0123456789abcdef")]
    assert "sk-live-0123456789abcdef" not in c.findings[0].describe()


def test_secrets_created_anywhere_are_learned(active, make_provider, gateway_key):
    make_provider(name="learned", base_url="http://127.0.0.1:9/v1", api_key="sk-learned-secret-0001",
                  extra_headers={"X-Api-Token": "hdr-learned-secret-0001", "Accept": "application/json"})
    assert active.secrets["sk-learned-secret-0001"] == "provider key"
    assert active.secrets["hdr-learned-secret-0001"] == "provider header"
    assert "application/json" not in active.secrets
    assert active.secrets[gateway_key] == "gateway key"


def test_canary_in_a_debug_log_line_is_caught(active, make_provider):
    make_provider(name="canary", base_url="http://127.0.0.1:9/v1", api_key="sk-canary-log-secret-01")
    logging.getLogger("gateway.canary").debug("oops: %s", "sk-canary-log-secret-01")
    caught = _withdraw(active, "sk-canary-log-secret-01")
    assert [f.where for f in caught] == ["log gateway.canary:DEBUG"]


def test_canary_in_a_v1_response_is_caught(active, live_gateway, upstream, make_provider, gateway_key):
    # An upstream that names a model after the key: the gateway relays model ids as they are.
    make_provider(name="canary", base_url=upstream.base_url, api_key="sk-canary-v1-secret-002")
    old = upstream.model_ids
    upstream.model_ids = ["sk-canary-v1-secret-002"]
    try:
        resp = httpx.get(f"{live_gateway.url}/v1/models", headers={"Authorization": f"Bearer {gateway_key}"})
    finally:
        upstream.model_ids = old
    assert "sk-canary-v1-secret-002" in resp.text
    caught = _withdraw(active, "sk-canary-v1-secret-002")
    assert caught and all(f.where.startswith(("ASGI GET /v1/models", "response GET /v1/models")) for f in caught)


def test_a_new_gateway_key_may_be_shown_once_by_the_command_that_created_it(active, db, capsys):
    call_command("gateway_key", "create", "shown-once")
    raw = capsys.readouterr().out.strip().splitlines()[-1]
    assert active.secrets.get(raw) == "gateway key"
    assert not _withdraw(active, raw)  # the creating command's own output is allowed


def test_a_key_the_client_searched_for_may_be_echoed_in_that_page(active, make_provider, admin_client):
    make_provider(name="searched", base_url="http://127.0.0.1:9/v1", api_key="sk-searched-for-secret-77")
    page = admin_client.get("/admin/providers/provider/", {"q": "sk-searched-for-secret-77"})
    assert page.status_code == 200
    assert b"sk-searched-for-secret-77" in page.content  # the search box shows the query
    assert b"0 providers" in page.content or b"0 results" in page.content  # never searchable
    assert not _withdraw(active, "sk-searched-for-secret-77")


def test_exports_are_scanned_and_hold_no_secret(active, make_provider):
    from providers.onboarding import config_io

    make_provider(name="exported", base_url="http://127.0.0.1:9/v1", api_key="sk-exported-secret-0042",
                  extra_headers={"Authorization": "Bearer hdr-exported-secret-0042"},
                  settings={"extra_query": {"api_key": "qry-exported-secret-0042"}})
    assert active.secrets["qry-exported-secret-0042"] == "provider extra_query value"
    before = active.scanned
    text = config_io.dump(config_io.export_document(), "yaml")
    assert active.scanned == before + 1
    assert "exported-secret" not in text


def test_query_env_and_header_values_are_learned_and_never_read_back(active, make_provider, admin_client):
    cloud = make_provider(name="stored", base_url="http://127.0.0.1:9/v1",
                          extra_headers={"X-Api-Key": "hdr-read-back-secret-0007"},
                          settings={"extra_query": {"version": "v-read-back-0008", "k": "qry-read-back-secret-0009"}})
    prog = make_provider(name="prog", provider_type="claude_cli",
                         settings={"command": "claude", "env": {"PLAIN_NAME": "env-read-back-secret-0010"}})
    # Every query and env value is a secret, whatever its name; headers by their name.
    assert active.secrets["qry-read-back-secret-0009"] == "provider extra_query value"
    assert active.secrets["v-read-back-0008"] == "provider extra_query value"
    assert active.secrets["env-read-back-secret-0010"] == "provider env value"
    assert active.secrets["hdr-read-back-secret-0007"] == "provider header"
    before = list(active.findings)
    for url in ("/api/providers/", f"/api/providers/{cloud.pk}/", f"/api/providers/{prog.pk}/",
                "/admin/providers/provider/", f"/admin/providers/provider/{cloud.pk}/change/",
                f"/admin/providers/provider/{prog.pk}/change/"):
        assert admin_client.get(url).status_code == 200
    assert active.findings == before


def test_canary_query_secret_in_a_v1_error_body_is_caught(active, live_gateway, faulty, make_provider, gateway_key,
                                                         monkeypatch):
    # With redaction switched off, an upstream quoting the request URL leaks the query
    # value into the /v1 error body: the scanner must see it there.
    from chat import gateway

    make_provider(name="canary", base_url=faulty.base_url, settings={"extra_query": {"k": "qry-canary-v1-secret-11"}})
    monkeypatch.setattr(gateway, "redact", lambda text: text)
    resp = httpx.post(f"{live_gateway.url}/v1/chat/completions", headers={"Authorization": f"Bearer {gateway_key}"},
                      json={"model": "canary/echo-request", "messages": []}, timeout=30)
    assert "qry-canary-v1-secret-11" in resp.text
    caught = _withdraw(active, "qry-canary-v1-secret-11")
    assert caught and all(f.where.startswith("ASGI POST /v1/chat/completions") for f in caught)
