"""Who may do what: one rule for the REST API, the admin's own views and its actions.

Django's model permissions decide, exactly as in the admin, and only staff users
get in at all (superusers hold every permission):

=========================================  =====================================
Operation                                  Permission needed
=========================================  =====================================
GET/HEAD/OPTIONS on a model's list/detail  ``view_<model>`` or ``change_<model>``
POST on a model's list                     ``add_<model>``
PUT/PATCH on a model's detail              ``change_<model>``
DELETE on a model's detail                 ``delete_<model>``
``GET /api/provider-types/``               ``view_provider`` (or change)
``POST /api/providers/{id}/test/``         ``view_provider`` (or change)
``GET /api/providers/{id}/models/``        ``view_provider`` (or change)
``POST /api/gateway-keys/{id}/revoke/``    ``change_gatewaykey``
admin test connection / probe / models     ``view_provider`` (or change) to run;
                                           ``change_provider`` to apply a fix
admin playground                           ``view_provider`` (or change) and
                                           ``add_gatewaykey``
a route's targets (admin inline, API)      the route's own permission for the
                                           operation (they are part of the route)
=========================================  =====================================

Why these: a connection test, a probe or a model listing only reads; the stored
secret goes only to the base URL that someone with ``change_provider`` chose. The
playground mints a gateway key that may use every provider, which is what
``add_gatewaykey`` already lets a user do by hand.
"""
from __future__ import annotations

from typing import Any

from django.db.models import Model
from rest_framework.permissions import BasePermission, DjangoModelPermissions
from rest_framework.request import Request

from .models import GatewayKey, Provider

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def perm(model: type[Model], action: str) -> str:
    """``"<app>.<action>_<model>"``, the name Django gives a model permission."""
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def is_staff(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def can_view(user: Any, model: type[Model]) -> bool:
    """As ``ModelAdmin.has_view_permission``: view or change."""
    return is_staff(user) and (user.has_perm(perm(model, "view")) or user.has_perm(perm(model, "change")))


def can(user: Any, model: type[Model], action: str) -> bool:
    if action == "view":
        return can_view(user, model)
    return is_staff(user) and user.has_perm(perm(model, action))


def can_use_playground(user: Any) -> bool:
    return can_view(user, Provider) and can(user, GatewayKey, "add")


class ModelPermissions(DjangoModelPermissions):
    """DRF's model permissions, with reads needing ``view`` (or ``change``) as in the admin, staff only."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not is_staff(request.user):
            return False
        if request.method in SAFE_METHODS:
            return can_view(request.user, self._queryset(view).model)
        return super().has_permission(request, view)


class Requires(BasePermission):
    """For views that are not a model's list or detail: staff plus one model permission.

    ``Requires.of(Provider, "view")`` is the permission class; ``"view"`` accepts change too."""

    model: type[Model] = Provider
    action: str = "view"

    @classmethod
    def of(cls, model: type[Model], action: str) -> type[Requires]:
        return type(f"Requires_{action}_{model._meta.model_name}", (cls,), {"model": model, "action": action})

    def has_permission(self, request: Request, view: Any) -> bool:
        return can(request.user, self.model, self.action)
