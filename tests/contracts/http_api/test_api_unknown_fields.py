"""Every /api/ write refuses fields it does not know with a 400 naming them, instead of
dropping them: ``"headers"`` (the API's name is ``extra_headers``) and a misspelt
``"setings"`` no longer return 201 with the header never sent and empty settings."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token

from providers.models import GatewayKey, Provider

pytestmark = pytest.mark.django_db

VALID_PROVIDER_FIELDS = ("api_key, base_url, clear_api_key, display_name, display_names, enabled, extra_headers, "
                         "name, provider_type, settings")


@pytest.fixture
def api(client, django_user_model):
    user = django_user_model.objects.create_user(username="ops", password="a-long-password-321", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="providers"))
    token = Token.objects.create(user=user)

    def call(method: str, url: str, body: dict):
        return getattr(client, method)(url, body, content_type="application/json",
                                       HTTP_AUTHORIZATION=f"Token {token.key}")
    return call


def test_creating_a_provider_with_unknown_fields_is_a_400_naming_them(api):
    response = api("post", "/api/providers/", {
        "name": "typo", "provider_type": "custom", "base_url": "http://127.0.0.1:9/v1",
        "headers": {"X-Org": "acme"}, "setings": {},
    })

    assert response.status_code == 400
    message = f"Unknown field. Valid fields: {VALID_PROVIDER_FIELDS}."
    assert response.json() == {"headers": [message], "setings": [message]}
    assert not Provider.objects.exists()


def test_unknown_fields_are_reported_with_the_other_errors(api):
    response = api("post", "/api/providers/", {"provider_type": "custom", "headerz": {}})

    assert response.status_code == 400
    assert set(response.json()) == {"name", "headerz"}


def test_updates_and_nested_objects_refuse_unknown_fields_too(api):
    created = api("post", "/api/providers/", {"name": "ok", "provider_type": "custom",
                                               "base_url": "http://127.0.0.1:9/v1", "extra_headers": {"X-Org": "acme"}})
    assert created.status_code == 201, created.content
    url = f"/api/providers/{created.json()['id']}/"

    patched = api("patch", url, {"enabled": False, "display_names": {"en": "OK", "fr": "D'accord"}})

    assert patched.status_code == 400
    assert patched.json() == {"display_names": {"fr": ["Unknown field. Valid fields: en, vi, zh-hans."]}}
    provider = Provider.objects.get()
    assert provider.enabled is True and provider.extra_headers == {"X-Org": "acme"}


def test_a_body_read_with_get_can_be_sent_back(api):
    created = api("post", "/api/providers/", {"name": "ok", "provider_type": "custom", "base_url": "http://127.0.0.1:9/v1"})
    body = created.json()  # read-only fields (id, has_api_key, created_at, ...) are known, and ignored

    response = api("put", f"/api/providers/{body['id']}/", {**body, "enabled": False})

    assert response.status_code == 200, response.content
    assert Provider.objects.get().enabled is False


def test_gateway_keys_and_the_connection_test_refuse_unknown_fields(api):
    key = api("post", "/api/gateway-keys/", {"name": "app", "rate_limit": 10})
    created = api("post", "/api/providers/", {"name": "ok", "provider_type": "custom", "base_url": "http://127.0.0.1:9/v1"})
    check = api("post", f"/api/providers/{created.json()['id']}/test/", {"prob": True})

    assert key.status_code == 400 and list(key.json()) == ["rate_limit"]
    assert not GatewayKey.objects.exists()
    assert check.status_code == 400 and list(check.json()) == ["prob"]
