"""Every /api/ operation checks Django's model permissions as the admin does: each
one run by a staff user without permissions, a view-only one, one who may change
but not add, and a superuser. A refused call answers 403 and changes nothing, and
a refused connection test or model listing sends nothing upstream."""
from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from providers.models import GatewayKey, Provider
from tests.hardening.conftest import ROLES, make_role_user, role_allows

# (method, path, body, permission action, status when allowed). {p}: a provider id, {k}: a gateway key id.
OPERATIONS: list[tuple[str, str, Any, str, int]] = [
    ("get", "/api/providers/", None, "view", 200),
    ("post", "/api/providers/", {"name": "new", "provider_type": "custom", "base_url": "{upstream}"}, "add", 201),
    ("get", "/api/providers/{p}/", None, "view", 200),
    ("put", "/api/providers/{p}/", {"name": "p", "provider_type": "custom", "base_url": "{upstream}",
                                    "enabled": False}, "change", 200),
    ("patch", "/api/providers/{p}/", {"enabled": False}, "change", 200),
    ("delete", "/api/providers/{p}/", None, "delete", 204),
    ("post", "/api/providers/{p}/test/", {}, "view", 200),
    ("get", "/api/providers/{p}/models/", None, "view", 200),
    ("get", "/api/provider-types/", None, "view", 200),
    ("get", "/api/gateway-keys/", None, "view", 200),
    ("post", "/api/gateway-keys/", {"name": "new-key"}, "add", 201),
    ("get", "/api/gateway-keys/{k}/", None, "view", 200),
    ("patch", "/api/gateway-keys/{k}/", {"requests_per_day": 5, "allowed_models": ["p/*"]}, "change", 200),
    ("post", "/api/gateway-keys/{k}/revoke/", None, "change", 200),
    ("get", "/api/schema/", None, "staff", 200),
    ("get", "/api/docs/", None, "staff", 200),
]
IDS = [f"{method} {path}" for method, path, *_ in OPERATIONS]


def _state() -> list[Any]:
    return [list(Provider.objects.order_by("pk").values_list("name", "enabled", "base_url")),
            list(GatewayKey.objects.order_by("pk").values_list("name", "revoked_at", "requests_per_day",
                                                                "allowed_models"))]


def _call(client: Client, operation: tuple, provider: Provider, key: GatewayKey, upstream: Any, **headers: str):
    method, path, body, *_ = operation
    path = path.format(p=provider.pk, k=key.pk)
    if body is None:
        return getattr(client, method)(path, **headers)
    body = {k: (upstream.base_url if v == "{upstream}" else v) for k, v in body.items()}
    return getattr(client, method)(path, body, content_type="application/json", **headers)


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("operation", OPERATIONS, ids=IDS)
def test_each_operation_needs_the_permission_the_admin_needs(role, operation, role_objects, upstream):
    provider, key = role_objects
    token = Token.objects.create(user=make_role_user(role))
    action, allowed_status = operation[3], operation[4]
    before = _state()
    response = _call(Client(), operation, provider, key, upstream, HTTP_AUTHORIZATION=f"Token {token.key}")
    allowed = action == "staff" or role_allows(role, action)
    if allowed:
        assert response.status_code == allowed_status, response.content
        return
    assert response.status_code == 403, response.content
    assert response.json() == {"detail": "You do not have permission to perform this action."}
    assert _state() == before
    assert upstream.requests == []  # nothing was sent with the provider's key


@pytest.mark.parametrize("operation", OPERATIONS, ids=IDS)
def test_anonymous_and_non_staff_users_get_nothing(operation, role_objects, upstream):
    provider, key = role_objects
    before = _state()
    assert _call(Client(), operation, provider, key, upstream).status_code in (401, 403)
    # Every permission, but not staff: still refused, as in the admin.
    user = make_role_user("change-not-add", is_staff=False)
    from django.contrib.auth.models import Permission

    user.user_permissions.set(Permission.objects.filter(content_type__app_label="providers"))
    token = Token.objects.create(user=user)
    response = _call(Client(), operation, provider, key, upstream, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 403
    assert _state() == before
    assert upstream.requests == []


def test_a_session_user_sees_the_same_answers_as_a_token_user(role_objects, upstream):
    provider, _key = role_objects
    client = Client()
    client.force_login(make_role_user("view-only"))
    assert client.get("/api/providers/").status_code == 200
    assert client.patch(f"/api/providers/{provider.pk}/", {"enabled": False},
                        content_type="application/json").status_code == 403
    assert Provider.objects.get(pk=provider.pk).enabled is True
