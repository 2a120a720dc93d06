"""``GET /api/providers/{id}/models/`` and the admin's fetch-models say what
happened: the key refused, no /models endpoint, the backend's own reason, or,
for a type that makes no listing call, that it lists its configured models
(never an HTTP status no backend sent)."""
from __future__ import annotations

import pytest

from providers.onboarding import probe
from tests.fakes.quirky_upstream import QuirkyUpstream

SECRET = "sk-staff-models-SECRET-0001"


@pytest.fixture
def quirky():
    server = QuirkyUpstream().start()
    yield server
    server.stop()


def url(provider) -> str:
    return f"/api/providers/{provider.pk}/models/"


def test_a_refused_key_is_named_as_such(admin_client, make_provider, quirky):
    quirky.api_key = "the-right-key"
    provider = make_provider(name="local", base_url=quirky.base_url, api_key=SECRET)
    resp = admin_client.get(url(provider))
    assert resp.status_code == 502
    assert resp.json() == {"detail": "The backend refused the API key (HTTP 401).", "code": "upstream_unauthorized",
                           "upstream_status": 401}
    result, models = probe.fetch_models(provider)
    assert (result.cause, models) == ("unauthorized", [])
    assert result.message() == "The backend refused the API key (HTTP 401)."


def test_a_missing_endpoint_is_named_as_such(admin_client, make_provider, upstream):
    upstream.models_shape = None
    provider = make_provider(name="local", base_url=upstream.base_url)
    body = admin_client.get(url(provider)).json()
    assert body["code"] == "no_models_endpoint" and body["upstream_status"] == 404
    assert "no usable /models endpoint (HTTP 404)" in body["detail"]


def test_the_backends_own_reason_is_shown_redacted(admin_client, make_provider, quirky):
    quirky.models_error = (400, {"error": {"message": f"No connected db. (key {SECRET})", "type": "no_db_connection",
                                           "param": None, "code": "400"}})
    provider = make_provider(name="litellm", base_url=quirky.base_url, api_key=SECRET)
    resp = admin_client.get(url(provider))
    assert resp.status_code == 502
    body = resp.json()
    assert body["code"] == "upstream_error" and body["upstream_status"] == 400
    assert body["detail"].startswith("The backend answered HTTP 400: No connected db.")
    assert SECRET not in resp.content.decode()
    # the connection test shows the same reason
    result = probe.check_connection(provider)
    assert (result.ok, result.cause) == (False, "http_error")
    assert result.message().startswith("The backend answered HTTP 400: No connected db.")
    assert SECRET not in result.message()


@pytest.mark.parametrize("ptype", ["claude_cli", "acp"])
def test_program_types_say_they_list_configured_models(admin_client, make_provider, allow_programs, ptype):
    allow_programs("sh")
    provider = make_provider(name="prog", provider_type=ptype, settings={"command": "sh", "models": ["a", "b"]})
    resp = admin_client.get(url(provider))
    assert resp.status_code == 404
    body = resp.json()
    assert "HTTP" not in body["detail"].replace("no HTTP call", "")
    assert body == {"detail": f"The type “{ptype}” runs a program and makes no HTTP call to list models; "
                              "/v1/models lists the models configured in its settings.",
                    "code": "no_listing", "configured_models": ["a", "b"]}
    result, models = probe.fetch_models(provider)
    assert (result.cause, models) == ("configured_models", ["a", "b"])
    assert "HTTP 404" not in result.message() and "configured in its settings" in result.message()
