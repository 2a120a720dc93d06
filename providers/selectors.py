"""Reads from the provider store that the admin, the REST API, the management
commands, configuration export and the routing table share. Writes live in
``services.py``; the /v1 hot path reads neither (it reads the in-memory routing
table, loaded through ``routing_providers``/``routing_keys`` off the request path)."""
from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from .models import GatewayKey, Provider


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
