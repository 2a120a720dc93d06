"""Test connection against real loopback servers, one per failure cause, with the
one-line cause in the caller's language (the API reads Accept-Language)."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation
from django.utils.translation import gettext
from rest_framework.test import APIClient

from providers import services
from providers.onboarding import probe
from tests.conftest import free_port

LANGUAGES = ("en", "vi", "zh-hans")
SECRET = "sk-wrong-key-SHOULDNEVERSHOW"


def _expected(msgid: str, params: dict, language: str) -> str:
    with translation.override(language):
        return gettext(msgid) % params


@pytest.fixture
def staff_client(db):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-12345-long")
    client = APIClient()
    client.force_authenticate(user)
    return client


def _provider(base_url: str, **kwargs):
    return services.provider_create(name="target", provider_type="custom", base_url=base_url, **kwargs)


def _check(client, provider, language: str) -> dict:
    response = client.post(f"/api/providers/{provider.pk}/test/", {}, format="json", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response.content
    assert response["Content-Language"] == language
    body = response.json()
    assert SECRET not in response.content.decode()
    return body


@pytest.mark.parametrize("language", LANGUAGES)
def test_dns_failure(staff_client, language):
    provider = _provider("http://no-such-backend.invalid/v1", api_key=SECRET)
    body = _check(staff_client, provider, language)
    assert (body["ok"], body["reachable"], body["cause"]) == (False, False, "dns")
    assert body["message"] == _expected("The host name “%(host)s” could not be resolved (DNS failure).",
                                        {"host": "no-such-backend.invalid"}, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_connection_refused(staff_client, language):
    port = free_port()  # bound and released: nothing listens there now
    provider = _provider(f"http://127.0.0.1:{port}/v1", api_key=SECRET)
    body = _check(staff_client, provider, language)
    assert (body["ok"], body["reachable"], body["cause"]) == (False, False, "refused")
    assert body["message"] == _expected("Connection refused: nothing is listening on %(host)s port %(port)s.",
                                        {"host": "127.0.0.1", "port": port}, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_tls_failure_when_https_meets_plain_http(staff_client, quirky, language):
    provider = _provider(f"https://127.0.0.1:{quirky.port}/v1", api_key=SECRET)
    body = _check(staff_client, provider, language)
    assert (body["ok"], body["reachable"], body["cause"]) == (False, False, "tls")
    assert body["message"] == _expected(
        "The TLS handshake failed: wrong scheme (https to a plain HTTP server) or an untrusted certificate.", {}, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_rejected_api_key(staff_client, quirky, language):
    quirky.api_key = "sk-the-right-one"
    provider = _provider(quirky.base_url, api_key=SECRET)
    body = _check(staff_client, provider, language)
    assert (body["ok"], body["reachable"], body["cause"], body["status"]) == (False, True, "unauthorized", 401)
    assert body["message"] == _expected("The backend refused the API key (HTTP %(status)s).", {"status": 401}, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_404_on_models(staff_client, quirky, language):
    provider = _provider(f"http://127.0.0.1:{quirky.port}/nothing-here", api_key=SECRET)
    body = _check(staff_client, provider, language)
    assert (body["ok"], body["reachable"], body["cause"], body["status"]) == (False, True, "models_not_found", 404)
    assert body["suggested_base_url"] is None
    assert body["message"] == _expected(
        "HTTP 404 on %(url)s: there is no /models endpoint at this base URL.",
        {"url": f"http://127.0.0.1:{quirky.port}/nothing-here/models"}, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_timeout_on_a_server_that_stalls(staff_client, stall_server, language):
    provider = _provider(stall_server.base_url, api_key=SECRET, settings={"read_timeout": 0.5})
    body = _check(staff_client, provider, language)
    assert (body["ok"], body["reachable"], body["cause"]) == (False, False, "timeout")
    assert body["message"] == _expected("The backend did not answer within %(seconds)s seconds.", {"seconds": "0.5"}, language)


def test_a_working_backend_reports_latency_and_models(staff_client, quirky):
    quirky.api_key = SECRET
    provider = _provider(quirky.base_url, api_key=SECRET)
    body = _check(staff_client, provider, "en")
    assert body["ok"] is True and body["reachable"] is True
    assert body["cause"] == "ok"
    assert body["model_count"] == 3
    assert body["models"] == ["qwen3-8b", "slow-text", "llama-3.1-8b"]
    assert isinstance(body["latency_ms"], int) and body["latency_ms"] >= 0
    assert body["message"] == f"Reachable in {body['latency_ms']} ms; the backend reports 3 models."


def test_the_endpoint_is_for_staff_only(db, quirky):
    provider = _provider(quirky.base_url)
    anonymous = APIClient().post(f"/api/providers/{provider.pk}/test/", {}, format="json")
    assert anonymous.status_code in (401, 403)
    user = get_user_model().objects.create_user("someone", "s@example.com", "pw-12345-long")
    client = APIClient()
    client.force_authenticate(user)
    assert client.post(f"/api/providers/{provider.pk}/test/", {}, format="json").status_code == 403


def test_subprocess_types_check_that_their_command_exists(db, allow_programs):
    allow_programs("h-onboard-no-such-program", "sh")
    provider = services.provider_create(name="cli", provider_type="claude_cli",
                                        settings={"command": "h-onboard-no-such-program"})
    result = probe.check_connection(provider)
    assert (result.ok, result.cause) == (False, "command_missing")
    provider = services.provider_create(name="cli2", provider_type="claude_cli", settings={"command": "sh"})
    result = probe.check_connection(provider)
    # Found is not enough: a program that does not answer a prompt fails the check.
    assert (result.ok, result.cause) == (False, "program_failed")
    assert "exit status" in result.message()


def test_a_self_signed_certificate_fails_tls_until_trusted(db, tmp_path):
    from tests.fakes.quirky_upstream import QuirkyUpstream, self_signed_context

    context, cert_path = self_signed_context(tmp_path)
    server = QuirkyUpstream(ssl_context=context).start()
    try:
        provider = _provider(server.base_url)
        result = probe.check_connection(provider)
        assert (result.ok, result.cause) == (False, "tls")
        services.provider_update(provider=provider, settings={"ca_bundle": cert_path})
        assert probe.check_connection(provider).ok is True
        services.provider_update(provider=provider, settings={"verify_tls": False})
        assert probe.check_connection(provider).ok is True
    finally:
        server.stop()


def test_the_endpoint_validates_its_input(staff_client, quirky):
    provider = _provider(quirky.base_url)
    bad = staff_client.post(f"/api/providers/{provider.pk}/test/", {"timeout": 0}, format="json")
    assert bad.status_code == 400 and "timeout" in bad.json()
    missing = staff_client.post(f"/api/providers/{provider.pk + 1000}/test/", {}, format="json")
    assert missing.status_code == 404


def test_an_unreadable_ca_bundle_is_reported(db, quirky, tmp_path):
    provider = _provider(quirky.base_url, settings={"ca_bundle": str(tmp_path / "missing.pem")})
    result = probe.check_connection(provider)
    assert (result.ok, result.cause) == (False, "ca_bundle")
    assert result.message() == f"The CA bundle {tmp_path / 'missing.pem'} cannot be read or is not a certificate file."
