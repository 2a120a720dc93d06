"""/api/gateway-keys/ sets and shows a key's expiry, model allowlist and budgets
(with the use against each, read from the gateway's counters); bad values and
unknown fields are field errors; staff without the permission are refused."""
from __future__ import annotations

import asyncio

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.authtoken.models import Token

from chat import limits
from providers import routing, services
from providers.gateway_keys import hash_gateway_key
from providers.models import GatewayKey
from tests.hardening.conftest import make_role_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_counters():
    cache.clear()
    yield
    cache.clear()


def post(client: Client, path: str, body: dict, **headers: str):
    return client.post(path, body, content_type="application/json", **headers)


def test_create_and_show_controls(admin_client):
    response = post(admin_client, "/api/gateway-keys/", {
        "name": "team-a", "expires_at": "2099-01-02T03:04:05Z", "allowed_models": ["vllm/*", "chat-default"],
        "requests_per_day": 100, "tokens_per_month": 1_000_000,
    })
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["expires_at"] == "2099-01-02T03:04:05Z"
    assert body["allowed_models"] == ["vllm/*", "chat-default"]
    assert (body["requests_per_day"], body["requests_per_month"], body["tokens_per_day"],
            body["tokens_per_month"]) == (100, None, None, 1_000_000)
    assert body["is_expired"] is False
    assert body["usage"]["requests_per_day"] == {"used": 0, "limit": 100, "resets_at": body["usage"][
        "requests_per_day"]["resets_at"]}
    assert body["usage"]["requests_per_month"]["used"] is None  # not set: not counted


def test_usage_reads_the_counters_the_gateway_keeps(admin_client):
    key, _raw = services.gateway_key_create(name="team-a", requests_per_month=50, tokens_per_day=500)
    info = next(k for k in routing.load_snapshot().keys.values() if k.id == key.pk)
    reservation = asyncio.run(limits.admit(info, 100))
    asyncio.run(limits.settle(reservation, 42))
    asyncio.run(limits.admit(info, 0))
    for response in (admin_client.get(f"/api/gateway-keys/{key.pk}/"), admin_client.get("/api/gateway-keys/")):
        body = response.json()
        usage = (body[0] if isinstance(body, list) else body.get("results", [body])[0])["usage"]
        assert usage["requests_per_month"]["used"] == 2 and usage["requests_per_month"]["limit"] == 50
        assert usage["tokens_per_day"]["used"] == 42
        assert usage["tokens_per_day"]["resets_at"].endswith("T00:00:00Z")


def test_patch_changes_and_null_removes(admin_client):
    key, raw = services.gateway_key_create(name="team-a", requests_per_day=5, allowed_models=["a/*"])
    response = admin_client.patch(f"/api/gateway-keys/{key.pk}/", {
        "requests_per_day": None, "tokens_per_day": 9, "expires_at": "2099-05-01T00:00:00Z",
    }, content_type="application/json")
    assert response.status_code == 200, response.content
    key.refresh_from_db()
    assert key.requests_per_day is None and key.tokens_per_day == 9 and key.allowed_models == ["a/*"]
    assert key.key_hash == hash_gateway_key(raw)
    response = admin_client.patch(f"/api/gateway-keys/{key.pk}/", {"allowed_models": [], "expires_at": None},
                                  content_type="application/json")
    assert response.status_code == 200
    key.refresh_from_db()
    assert key.allowed_models == [] and key.expires_at is None


@pytest.mark.parametrize(
    ("body", "field"),
    [({"allowed_models": ["vllm/ x"]}, "allowed_models"), ({"allowed_models": "vllm/*"}, "allowed_models"),
     ({"allowed_models": [""]}, "allowed_models"), ({"requests_per_day": 0}, "requests_per_day"),
     ({"tokens_per_month": 10**16}, "tokens_per_month"), ({"expires_at": "soon"}, "expires_at"),
     ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"), ({"budget": 5}, "budget")],
)
def test_bad_values_and_unknown_fields_are_field_errors(admin_client, body, field):
    response = post(admin_client, "/api/gateway-keys/", {"name": "team-a", **body})
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not GatewayKey.objects.exists()


def test_patch_refuses_unknown_fields(admin_client):
    key, _raw = services.gateway_key_create(name="team-a")
    response = admin_client.patch(f"/api/gateway-keys/{key.pk}/", {"requests_per_dya": 3},
                                  content_type="application/json")
    assert response.status_code == 400 and "requests_per_dya" in response.json()


@pytest.mark.parametrize("role", ["no-permissions", "view-only"])
def test_staff_without_change_or_add_permission_are_refused(role):
    key, _raw = services.gateway_key_create(name="team-a")
    token = Token.objects.create(user=make_role_user(role))
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.patch(f"/api/gateway-keys/{key.pk}/", {"requests_per_day": 1, "allowed_models": ["x/*"]},
                            content_type="application/json")
    assert response.status_code == 403
    response = post(client, "/api/gateway-keys/", {"name": "other", "tokens_per_day": 1})
    assert response.status_code == 403
    key.refresh_from_db()
    assert key.requests_per_day is None and key.allowed_models == []
    assert list(GatewayKey.objects.values_list("name", flat=True)) == ["team-a"]


def test_a_key_read_with_get_can_be_sent_back_with_a_change(admin_client):
    key, _raw = services.gateway_key_create(name="team-a", requests_per_day=5)
    body = admin_client.get(f"/api/gateway-keys/{key.pk}/").json()
    body["requests_per_day"] = 7
    body["name"] = "renamed"  # shown, never changed through PATCH
    response = admin_client.patch(f"/api/gateway-keys/{key.pk}/", body, content_type="application/json")
    assert response.status_code == 200, response.content
    key.refresh_from_db()
    assert key.requests_per_day == 7 and key.name == "team-a"


def test_usage_is_unknown_not_an_error_when_the_cache_is_unreachable(admin_client, settings):
    key, _raw = services.gateway_key_create(name="team-a", requests_per_day=10)
    # Port 9 (discard) is closed on loopback: every cache call fails at once.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:9/0"}}
    response = admin_client.get(f"/api/gateway-keys/{key.pk}/")
    assert response.status_code == 200
    assert response.json()["usage"]["requests_per_day"] == {
        "used": None, "limit": 10, "resets_at": response.json()["usage"]["requests_per_day"]["resets_at"]}
    assert "unknown" in admin_client.get(f"/admin/providers/gatewaykey/{key.pk}/change/").content.decode()
