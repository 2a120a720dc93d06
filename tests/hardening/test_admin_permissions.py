"""Every admin view and action, Django's own and the onboarding ones, checks the same
model permissions as the API (providers/permissions.py): each run by a staff user
without permissions, a view-only one, one who may change but not add, and a
superuser. A refused view answers 403 and changes nothing; a refused action does nothing."""
from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from providers.models import GatewayKey, Provider
from tests.hardening.conftest import ROLES, make_role_user


def provider_url(name: str, *args: Any) -> str:
    return reverse(f"admin:providers_provider_{name}", args=args)


def key_url(name: str, *args: Any) -> str:
    return reverse(f"admin:providers_gatewaykey_{name}", args=args)


# (id, method, url(p, k), data(upstream), permission "model.action" or "playground", status when allowed)
VIEWS: list[tuple[str, str, Any, Any, str, int]] = [
    ("provider changelist", "get", lambda p, k: provider_url("changelist"), None, "provider.view", 200),
    ("provider add", "get", lambda p, k: provider_url("add"), None, "provider.add", 200),
    ("provider add save", "post", lambda p, k: provider_url("add"),
     lambda up: {"name": "new", "provider_type": "custom", "base_url": up, "enabled": "on", "settings": "{}"},
     "provider.add", 302),
    ("provider change", "get", lambda p, k: provider_url("change", p), None, "provider.view", 200),
    ("provider change save", "post", lambda p, k: provider_url("change", p),
     lambda up: {"name": "p", "provider_type": "custom", "base_url": up, "settings": "{}"}, "provider.change", 302),
    ("provider delete", "get", lambda p, k: provider_url("delete", p), None, "provider.delete", 200),
    ("provider delete confirm", "post", lambda p, k: provider_url("delete", p), lambda up: {"post": "yes"},
     "provider.delete", 302),
    ("provider history", "get", lambda p, k: provider_url("history", p), None, "provider.view", 200),
    ("test connection", "get", lambda p, k: provider_url("test_connection", p), None, "provider.view", 200),
    ("apply base URL fix", "post", lambda p, k: provider_url("test_connection", p), lambda up: {"base_url": "x"},
     "provider.change", 302),
    ("probe", "get", lambda p, k: provider_url("probe", p), None, "provider.view", 200),
    ("apply probe findings", "post", lambda p, k: provider_url("probe", p), lambda up: {"suggestion": "x"},
     "provider.change", 302),
    ("fetch models", "get", lambda p, k: provider_url("fetch_models", p), None, "provider.view", 200),
    ("save model list", "post", lambda p, k: provider_url("fetch_models", p), lambda up: {"allowed": ["text"]},
     "provider.change", 302),
    ("playground", "get", lambda p, k: provider_url("playground"), None, "playground", 200),
    ("playground key", "post", lambda p, k: provider_url("playground"), None, "playground", 200),
    ("key changelist", "get", lambda p, k: key_url("changelist"), None, "gatewaykey.view", 200),
    ("key add", "get", lambda p, k: key_url("add"), None, "gatewaykey.add", 200),
    ("key add save", "post", lambda p, k: key_url("add"), lambda up: {"name": "new-key"}, "gatewaykey.add", 200),
    ("key change", "get", lambda p, k: key_url("change", k), None, "gatewaykey.view", 200),
    ("key delete", "get", lambda p, k: key_url("delete", k), None, "gatewaykey.delete", 200),
    ("key delete confirm", "post", lambda p, k: key_url("delete", k), lambda up: {"post": "yes"},
     "gatewaykey.delete", 302),
    ("key history", "get", lambda p, k: key_url("history", k), None, "gatewaykey.view", 200),
]

# (id, changelist, action name, extra POST data, permission, effect(provider, key) -> bool)
ACTIONS: list[tuple[str, str, str, dict[str, str], str, Any]] = [
    ("test connection action", "provider", "test_connection_action", {}, "provider.view", None),
    ("delete providers", "provider", "delete_selected", {"post": "yes"}, "provider.delete",
     lambda p, k: not Provider.objects.filter(pk=p).exists()),
    ("revoke keys", "gatewaykey", "revoke_keys", {}, "gatewaykey.change",
     lambda p, k: GatewayKey.objects.get(pk=k).revoked_at is not None),
    ("delete keys", "gatewaykey", "delete_selected", {"post": "yes"}, "gatewaykey.delete",
     lambda p, k: not GatewayKey.objects.filter(pk=k).exists()),
]


def allows(role: str, permission: str) -> bool:
    perms = ROLES[role]
    if perms is None:
        return True

    def has(model: str, action: str) -> bool:
        return f"{action}_{model}" in perms or (action == "view" and f"change_{model}" in perms)

    if permission == "playground":  # see providers/permissions.py
        return has("provider", "view") and has("gatewaykey", "add")
    model, action = permission.split(".")
    return has(model, action)


def _state() -> list[Any]:
    return [list(Provider.objects.order_by("pk").values_list("name", "base_url", "settings", "enabled")),
            list(GatewayKey.objects.order_by("pk").values_list("name", "revoked_at", "key_hash"))]


def _client(role: str) -> Client:
    client = Client()
    client.force_login(make_role_user(role))
    return client


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize(("name", "method", "path", "data", "permission", "status"), VIEWS, ids=[v[0] for v in VIEWS])
def test_each_admin_view_needs_its_permission(role, name, method, path, data, permission, status, role_objects, upstream):
    provider, key = role_objects
    before = _state()
    target = path(provider.pk, key.pk)
    response = getattr(_client(role), method)(target, data(upstream.base_url) if data else {})
    if allows(role, permission):
        assert response.status_code == status, (name, response.status_code)
        return
    assert response.status_code == 403, (name, response.status_code)
    assert _state() == before
    assert upstream.requests == []  # no connection test, probe or listing ran


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize(("name", "model", "action", "extra", "permission", "effect"), ACTIONS,
                         ids=[a[0] for a in ACTIONS])
def test_each_admin_action_needs_its_permission(role, name, model, action, extra, permission, effect, role_objects,
                                                upstream):
    provider, key = role_objects
    before = _state()
    selected = provider.pk if model == "provider" else key.pk
    changelist = reverse(f"admin:providers_{model}_changelist")
    response = _client(role).post(changelist, {"action": action, "_selected_action": [selected], **extra})
    if allows(role, permission):
        assert response.status_code in (200, 302)
        if effect is not None:
            assert effect(provider.pk, key.pk), name
        else:
            assert upstream.requests, "the connection test ran"
        return
    assert response.status_code in (200, 302, 403)
    assert _state() == before
    assert upstream.requests == []


def test_the_playground_needs_view_provider_and_add_gatewaykey(role_objects):
    user = get_user_model().objects.create_user("tester", password="a-long-password-789", is_staff=True)
    client = Client()
    client.force_login(user)
    for codenames, status in ((["view_provider"], 403), (["add_gatewaykey"], 403),
                              (["view_provider", "add_gatewaykey"], 200)):
        user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
        user = get_user_model().objects.get(pk=user.pk)  # a fresh permission cache
        client.force_login(user)
        assert client.get(provider_url("playground")).status_code == status
        assert client.post(provider_url("playground")).status_code == status
    assert GatewayKey.objects.filter(name__startswith="playground-").count() == 1


def test_the_playground_button_shows_only_for_users_who_may_use_it(role_objects):
    provider, _key = role_objects
    user = get_user_model().objects.create_user("viewer", password="a-long-password-2", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_provider"))
    client = Client()
    client.force_login(user)
    pages = (reverse("admin:providers_provider_changelist"), reverse("admin:providers_provider_change",
                                                                        args=[provider.pk]))
    for page in pages:
        assert 'id="onboarding-playground"' not in client.get(page).content.decode()
    user.user_permissions.add(Permission.objects.get(codename="add_gatewaykey"))
    client.force_login(get_user_model().objects.get(pk=user.pk))
    for page in pages:
        assert 'id="onboarding-playground"' in client.get(page).content.decode()
