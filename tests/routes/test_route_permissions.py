"""Routes are guarded by their own model permissions at every door: each REST API
operation and admin view run by staff users lacking each route permission (and a
superuser). A refused call answers 403 and changes nothing; the targets inline
follows the route's permissions (a route's targets are part of it)."""
from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from providers import services
from providers.models import Route, RouteTarget
from providers.routes import services as route_services

ALL = ("view_route", "add_route", "change_route", "delete_route")
# Each role lacks one route permission (or all of them, or holds only the provider ones).
ROLES: dict[str, tuple[str, ...] | None] = {
    "providers-only": ("view_provider", "change_provider", "add_provider"),
    "lacks-view": ("add_route", "delete_route"),
    "lacks-add": ("view_route", "change_route", "delete_route"),
    "lacks-change": ("view_route", "add_route", "delete_route"),
    "lacks-delete": ("view_route", "add_route", "change_route"),
    "superuser": None,
}

TARGETS = [{"provider": "p", "model": "text", "priority": 0, "weight": 1}]
# (method, path, body, permission needed, status when allowed)
API: list[tuple[str, str, Any, str, int]] = [
    ("get", "/api/routes/", None, "view", 200),
    ("post", "/api/routes/", {"name": "new-route", "targets": TARGETS}, "add", 201),
    ("get", "/api/routes/{r}/", None, "view", 200),
    ("put", "/api/routes/{r}/", {"name": "r", "enabled": False, "targets": TARGETS}, "change", 200),
    ("patch", "/api/routes/{r}/", {"enabled": False}, "change", 200),
    ("delete", "/api/routes/{r}/", None, "delete", 204),
]


def allows(role: str, action: str) -> bool:
    perms = ROLES[role]
    if perms is None:
        return True
    return f"{action}_route" in perms or (action == "view" and "change_route" in perms)


def make_user(role: str) -> Any:
    User = get_user_model()
    if ROLES[role] is None:
        return User.objects.create_superuser(f"{role}-u", f"{role}@example.com", "a-long-password-789")
    user = User.objects.create_user(f"{role}-u", password="a-long-password-789", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="providers", codename__in=ROLES[role]))
    return user


@pytest.fixture
def route(db: Any, upstream: Any) -> Route:
    services.provider_create(name="p", provider_type="custom", base_url=upstream.base_url)
    return route_services.route_create(name="r", targets=route_services.targets_from_names(TARGETS))


def state() -> list[Any]:
    return [list(Route.objects.order_by("pk").values_list("name", "enabled")),
            list(RouteTarget.objects.order_by("pk").values_list("route_id", "model", "priority", "weight"))]


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("operation", API, ids=[f"{m} {p}" for m, p, *_ in API])
def test_each_api_operation_needs_its_route_permission(role, operation, route):
    method, path, body, action, allowed_status = operation
    token = Token.objects.create(user=make_user(role))
    before = state()
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    path = path.format(r=route.pk)
    response = (getattr(client, method)(path) if body is None
                else getattr(client, method)(path, body, content_type="application/json"))
    if allows(role, action):
        assert response.status_code == allowed_status, response.content
        return
    assert response.status_code == 403, response.content
    assert response.json() == {"detail": "You do not have permission to perform this action."}
    assert state() == before


def url(name: str, *args: Any) -> str:
    return reverse(f"admin:providers_route_{name}", args=args)


def inline(route_pk: Any, provider_pk: int, *, total: int = 1, initial: int = 0, target_pk: Any = "") -> dict[str, str]:
    return {"targets-TOTAL_FORMS": str(total), "targets-INITIAL_FORMS": str(initial), "targets-MIN_NUM_FORMS": "0",
            "targets-MAX_NUM_FORMS": "32", "targets-0-provider": str(provider_pk), "targets-0-model": "text",
            "targets-0-priority": "0", "targets-0-weight": "3", "targets-0-id": str(target_pk),
            "targets-0-route": str(route_pk)}


ADMIN: list[tuple[str, str, Any, Any, str, int]] = [
    ("changelist", "get", lambda r: url("changelist"), None, "view", 200),
    ("add", "get", lambda r: url("add"), None, "add", 200),
    ("add save", "post", lambda r: url("add"),
     lambda r: {"name": "added", "description": "", "enabled": "on", **inline("", r.targets.get().provider_id)},
     "add", 302),
    ("change", "get", lambda r: url("change", r.pk), None, "view", 200),
    ("change save", "post", lambda r: url("change", r.pk),
     lambda r: {"name": "r", "description": "changed", "enabled": "on",
                **inline(r.pk, r.targets.get().provider_id, initial=1, target_pk=r.targets.get().pk)},
     "change", 302),
    ("delete", "get", lambda r: url("delete", r.pk), None, "delete", 200),
    ("delete confirm", "post", lambda r: url("delete", r.pk), lambda r: {"post": "yes"}, "delete", 302),
]


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("view", ADMIN, ids=[v[0] for v in ADMIN])
def test_each_admin_view_needs_its_route_permission(role, view, route, client):
    _name, method, make_url, data, action, allowed_status = view
    client.force_login(make_user(role))
    before = state()
    response = getattr(client, method)(make_url(route), data(route) if data else None)
    if allows(role, action):
        assert response.status_code == allowed_status, response.content.decode()[:3000]
        if _name == "add save":
            added = Route.objects.get(name="added")
            assert [(t.provider.name, t.model, t.weight) for t in added.targets.all()] == [("p", "text", 3)]
        if _name == "change save":
            assert Route.objects.get(pk=route.pk).description == "changed"
            assert route.targets.get().weight == 3
        return
    assert response.status_code == 403, response.content.decode()[:2000]
    assert state() == before


def test_a_user_who_may_only_view_sees_targets_read_only(route, client):
    client.force_login(_view_only())
    page = client.get(url("change", route.pk)).content.decode()
    assert "p/text" in page or "text" in page
    assert 'name="targets-0-weight"' not in page  # no inputs for a viewer


def _view_only() -> Any:
    User = get_user_model()
    user = User.objects.create_user("viewer", password="a-long-password-789", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_route"))
    return user
