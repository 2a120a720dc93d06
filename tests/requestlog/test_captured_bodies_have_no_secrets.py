"""Bodies are recorded only for keys with "record bodies" on, size-capped, with
every provider secret masked; error causes are masked too, and neither the admin
pages, the API nor the CSV export ever show a provider secret (the session-wide
secret scan of tests/secret_scan.py checks every response as well)."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.fakes.faulty_upstream import FaultyUpstream
from tests.requestlog.helpers import chat, one_row, post

API_KEY = "sk-recorded-upstream-secret-5150"
HEADER_KEY = "hdr-recorded-upstream-secret-77"


@pytest.fixture(scope="module")
def faulty_upstream():
    server = FaultyUpstream().start()
    yield server
    server.stop()


@pytest.fixture
def recording_key(transactional_db) -> str:
    from providers import services

    _key, raw = services.gateway_key_create(name="debugging", record_bodies=True)
    return raw


@pytest.fixture
def echo(make_provider, faulty_upstream, upstream):
    make_provider(name="echo", base_url=faulty_upstream.base_url, api_key=API_KEY,
                  extra_headers={"X-Api-Key": HEADER_KEY})
    make_provider(name="local", base_url=upstream.base_url, api_key=API_KEY)


def shown_everywhere(row_id: int) -> str:
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(admin)
    pages = [client.get(reverse("admin:chat_requestlog_change", args=[row_id])).content.decode(),
             client.get(f"/api/requests/{row_id}/").content.decode(),
             client.get("/api/requests/").content.decode()]
    export = client.get(reverse("admin:chat_requestlog_export"))
    pages.append(b"".join(export.streaming_content).decode())
    return "\n".join(pages)


def test_bodies_are_not_recorded_by_default(live_gateway, echo, gateway_key):
    assert chat(live_gateway.url, gateway_key, "local/text").status_code == 200
    row = one_row()
    assert (row.request_body, row.response_body) == ("", "")


def test_a_recording_key_keeps_both_bodies(live_gateway, echo, recording_key):
    resp = chat(live_gateway.url, recording_key, "local/text", stream=True)
    row = one_row()
    assert '"messages"' in row.request_body and row.response_body == resp.text


def test_provider_secrets_are_masked_in_bodies_and_causes(live_gateway, echo, recording_key):
    prompt = f"my keys are {API_KEY} and {HEADER_KEY}"
    resp = post(live_gateway.url, recording_key, "/v1/chat/completions",
                {"model": "echo/echo-auth", "messages": [{"role": "user", "content": prompt}]})
    assert resp.status_code == 401
    row = one_row()
    for text in (row.request_body, row.response_body, row.error_cause):
        assert API_KEY not in text and HEADER_KEY not in text
    assert "my keys are *** and ***" in row.request_body
    everything = shown_everywhere(row.pk)
    assert API_KEY not in everything and HEADER_KEY not in everything


def test_recorded_bodies_are_capped(live_gateway, echo, recording_key, settings):
    from chat import requestlog

    settings.GATEWAY_REQUEST_LOG_BODY_BYTES = 100
    requestlog.configure()
    assert post(live_gateway.url, recording_key, "/v1/chat/completions",
                {"model": "local/text", "messages": [{"role": "user", "content": "x" * 5000}]}).status_code == 200
    row = one_row()
    assert len(row.request_body) == 100 and len(row.response_body) == 100
