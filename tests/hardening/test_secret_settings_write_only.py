"""``extra_query`` and ``env`` values are secrets like the API key: encrypted at rest,
never returned by the API or rendered by the admin (names and a last-4 hint only),
kept when an update leaves them out, removed one by one with null or all at once."""
from __future__ import annotations

import json

import pytest
from django.db import connection

from providers import routing, services
from providers.models import Provider

pytestmark = pytest.mark.django_db

QUERY_SECRET = "qry-write-only-secret-Q1w2"
ENV_SECRET = "env-write-only-secret-E3r4"
HEADER_SECRET = "hdr-write-only-secret-H5t6"


@pytest.fixture
def http_provider() -> Provider:
    return services.provider_create(
        name="cloud", provider_type="custom", base_url="http://127.0.0.1:9/v1",
        extra_headers={"X-Api-Key": HEADER_SECRET},
        settings={"read_timeout": 30, "extra_query": {"key": QUERY_SECRET, "api-version": "2024-10-21"}},
    )


@pytest.fixture
def cli_provider() -> Provider:
    return services.provider_create(name="cli", provider_type="claude_cli",
                                    settings={"command": "claude", "env": {"CLI_TOKEN": ENV_SECRET}})


def raw_row(pk: int) -> str:
    """Every column of the row as stored (binary ones as their bytes)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM providers_provider WHERE id = %s", [pk])
        row = cursor.fetchone()
    return " ".join(bytes(v).decode("latin-1") if isinstance(v, (bytes, memoryview)) else str(v) for v in row)


def test_values_are_encrypted_at_rest_and_reach_the_adapters(http_provider, cli_provider):
    for provider, secret in ((http_provider, QUERY_SECRET), (cli_provider, ENV_SECRET)):
        assert secret not in raw_row(provider.pk)
        assert secret.encode().hex() not in raw_row(provider.pk)
    assert Provider.objects.get(name="cloud").settings == {"read_timeout": 30}
    config = routing.provider_config(Provider.objects.get(name="cloud"))
    assert config.setting("extra_query") == {"key": QUERY_SECRET, "api-version": "2024-10-21"}
    assert routing.provider_config(Provider.objects.get(name="cli")).setting("env") == {"CLI_TOKEN": ENV_SECRET}
    assert QUERY_SECRET not in repr(config)


def test_the_api_returns_names_and_hints_never_values(admin_client, http_provider, cli_provider):
    listing = admin_client.get("/api/providers/")
    detail = admin_client.get(f"/api/providers/{http_provider.pk}/").json()
    for text in (listing.content.decode(), json.dumps(detail)):
        for secret in (QUERY_SECRET, ENV_SECRET, HEADER_SECRET, "2024-10-21"):
            assert secret not in text
    assert detail["settings"] == {"read_timeout": 30}
    assert detail["secret_setting_hints"] == {"extra_query": {"api-version": "0-21", "key": "Q1w2"}}
    assert detail["extra_header_hints"] == {"X-Api-Key": "H5t6"}
    cli = admin_client.get(f"/api/providers/{cli_provider.pk}/").json()
    assert cli["secret_setting_hints"] == {"env": {"CLI_TOKEN": "E3r4"}}


def test_api_updates_keep_left_out_names_and_null_removes(admin_client, http_provider):
    url = f"/api/providers/{http_provider.pk}/"

    def patch(settings):
        resp = admin_client.patch(url, {"settings": settings}, content_type="application/json")
        assert resp.status_code == 200, resp.content
        return resp.json()["secret_setting_hints"], routing.provider_config(Provider.objects.get(pk=http_provider.pk))

    hints, config = patch({"read_timeout": 60})  # a round trip of what GET showed keeps the secrets
    assert config.setting("extra_query") == {"key": QUERY_SECRET, "api-version": "2024-10-21"}
    hints, config = patch({"extra_query": {"api-version": "2025-01-01"}})
    assert config.setting("extra_query") == {"key": QUERY_SECRET, "api-version": "2025-01-01"}
    assert config.setting("read_timeout") is None  # settings themselves are replaced, as before
    hints, config = patch({"extra_query": {"key": None}})
    assert config.setting("extra_query") == {"api-version": "2025-01-01"} and hints == {"extra_query": {"api-version": "1-01"}}
    hints, config = patch({"extra_query": None})
    assert config.setting("extra_query") is None and hints == {}
    resp = admin_client.patch(url, {"settings": {"extra_query": {"key": 5}}}, content_type="application/json")
    assert resp.status_code == 400 and "extra_query" in json.dumps(resp.json())


def test_the_admin_never_renders_a_value_and_keeps_them_when_left_out(admin_client, http_provider, cli_provider):
    change_url = f"/admin/providers/provider/{http_provider.pk}/change/"
    pages = [admin_client.get(change_url), admin_client.get("/admin/providers/provider/"),
             admin_client.get(f"/admin/providers/provider/{cli_provider.pk}/change/")]
    for page in pages:
        for secret in (QUERY_SECRET, ENV_SECRET, HEADER_SECRET):
            assert secret not in page.content.decode()
    html = pages[0].content.decode()
    assert "key (ends in “Q1w2”)" in html and "X-Api-Key (ends in “H5t6”)" in html
    assert "CLI_TOKEN (ends in “E3r4”)" in pages[2].content.decode()

    form = {
        "name": "cloud", "provider_type": "custom", "base_url": "http://127.0.0.1:9/v1", "enabled": "on",
        "display_name_en": "", "display_name_vi": "", "display_name_zh_hans": "",
        "new_api_key": "", "new_extra_headers": "", "settings": '{"read_timeout": 45}',
    }
    assert admin_client.post(change_url, form).status_code == 302
    config = routing.provider_config(Provider.objects.get(pk=http_provider.pk))
    assert config.setting("extra_query") == {"key": QUERY_SECRET, "api-version": "2024-10-21"}
    assert config.setting("read_timeout") == 45

    # A form with an error shows the settings back without the secret just typed.
    typed = "qry-typed-then-refused-Z9x8"
    form.update(base_url="not a url", settings=json.dumps({"read_timeout": 45, "extra_query": {"key": typed}}))
    page = admin_client.post(change_url, form)
    assert page.status_code == 200 and typed not in page.content.decode()
    assert "read_timeout" in page.content.decode()
    assert set(page.wsgi_request.sensitive_post_parameters) >= {"settings", "new_extra_headers", "new_api_key"}
