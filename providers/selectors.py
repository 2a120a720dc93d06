"""Reads from the provider store that the admin, the REST API, the management
commands, configuration export and the routing table share. Writes live in
``services.py``; the /v1 hot path reads neither (it reads the in-memory routing
table, loaded through ``routing_providers``/``routing_keys`` off the request path)."""
from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from .models import GatewayKey, Provider, Route


def provider_list() -> QuerySet[Provider]:
    """Every provider, by name (the order of lists, exports and the API)."""
    return Provider.objects.order_by("name")


def provider_list_enabled() -> QuerySet[Provider]:
    return Provider.objects.filter(enabled=True).order_by("name")


def provider_by_name(name: str) -> Provider | None:
    return Provider.objects.filter(name=name).first()


def providers_named(names: Iterable[str]) -> QuerySet[Provider]:
    return Provider.objects.filter(name__in=list(names))


def gateway_key_list() -> QuerySet[GatewayKey]:
    """Every gateway key with the providers it may use, by name."""
    return GatewayKey.objects.prefetch_related("providers").order_by("name")


def gateway_key_by_name(name: str) -> GatewayKey | None:
    return GatewayKey.objects.filter(name=name).first()


def gateway_key_name_taken(name: str) -> bool:
    return GatewayKey.objects.filter(name=name).exists()


def routing_providers() -> QuerySet[Provider]:
    """The rows the routing table is built from (with their secrets)."""
    return Provider.objects.all()


def routing_keys() -> QuerySet[GatewayKey]:
    """The keys the routing table accepts: every key not revoked, with its providers."""
    return GatewayKey.objects.filter(revoked_at__isnull=True).prefetch_related("providers")


def route_list() -> QuerySet[Route]:
    """Every route with its targets and their providers, by name."""
    return Route.objects.prefetch_related("targets__provider").order_by("name")


def routing_routes() -> QuerySet[Route]:
    """The routes the routing table serves: the enabled ones."""
    return route_list().filter(enabled=True)


def name_clash(name: str, *, kind: str, instance: Provider | Route | None = None) -> str | None:
    """Why ``name`` cannot name a ``kind`` ("provider" or "route"; ``instance``: the one
    being changed), or None. Across the two kinds names are compared without case:
    ``Chat`` and ``chat`` would be two model ids a person reads as one."""
    own, other = (Provider, Route) if kind == "provider" else (Route, Provider)
    same = own.objects.filter(name=name)
    if instance is not None and instance.pk:
        same = same.exclude(pk=instance.pk)
    if same.exists():
        return (_("A provider with this name already exists.") if kind == "provider"
                else _("A route with this name already exists."))
    if other.objects.filter(name__iexact=name).exists():
        return (_("A route with this name exists; provider and route names share the model ids.")
                if kind == "provider" else
                _("A provider with this name exists; provider and route names share the model ids."))
    return None
