"""Gateway keys through /api/gateway-keys/: the secret is returned once, only its hash is kept."""
from __future__ import annotations

import pytest

from providers import services
from providers.gateway_keys import hash_gateway_key
from providers.models import GatewayKey

pytestmark = pytest.mark.django_db


def test_create_returns_the_key_once_and_stores_only_its_hash(admin_client):
    provider = services.provider_create(name="local", provider_type="custom", base_url="http://127.0.0.1:9/v1")
    response = admin_client.post("/api/gateway-keys/", {"name": "team-a", "providers": ["local"],
                                                        "rate_limit_rpm": 60}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    raw = body["key"]
    assert raw.startswith("gwk_") and body["prefix"] == raw[: len(body["prefix"])]
    assert body["providers"] == ["local"] and body["rate_limit_rpm"] == 60 and body["is_active"] is True
    stored = GatewayKey.objects.get(name="team-a")
    assert stored.key_hash == hash_gateway_key(raw)
    assert list(stored.providers.all()) == [provider]

    for response in (admin_client.get("/api/gateway-keys/"), admin_client.get(f"/api/gateway-keys/{stored.pk}/")):
        assert response.status_code == 200
        assert raw.encode() not in response.content
        assert stored.key_hash.encode() not in response.content
        assert b'"key"' not in response.content


def test_duplicate_or_bad_names_and_unknown_providers_are_field_errors(admin_client):
    services.gateway_key_create(name="team-a")
    response = admin_client.post("/api/gateway-keys/", {"name": "team-a"}, content_type="application/json",
                                 HTTP_ACCEPT_LANGUAGE="zh")
    assert response.status_code == 400
    assert response.json() == {"name": ["已存在同名的网关密钥。"]}
    response = admin_client.post("/api/gateway-keys/", {"name": "bad name"}, content_type="application/json")
    assert response.status_code == 400 and set(response.json()) == {"name"}
    response = admin_client.post("/api/gateway-keys/", {"name": "b", "providers": ["ghost"]},
                                 content_type="application/json")
    assert response.status_code == 400 and set(response.json()) == {"providers"}


def test_revoke(admin_client):
    key, _raw = services.gateway_key_create(name="team-a")
    response = admin_client.post(f"/api/gateway-keys/{key.pk}/revoke/")
    assert response.status_code == 200
    assert response.json()["is_active"] is False and response.json()["revoked_at"]
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert admin_client.post("/api/gateway-keys/999999/revoke/").status_code == 404
