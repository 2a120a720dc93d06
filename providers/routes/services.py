"""Writes and reads of routes (model aliases with fallback targets). The REST API, the
admin, config import and ``manage.py routes`` all go through these functions.

The model-id namespace is checked in both directions by ``selectors.name_clash``
(for routes here, for providers in ``providers.services``): a route may not be
named like a provider, nor a provider like a route, so a model id without a slash
always means one thing.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypedDict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .. import audit, config_version, selectors
from ..models import Provider, Route, RouteTarget

ROUTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_TARGETS = 32
MAX_ATTEMPTS = 10
MAX_SECONDS = 3600.0
MAX_PRIORITY = 1000
MAX_WEIGHT = 10_000
ROUTE_FIELDS = ("name", "description", "enabled", "max_attempts", "deadline_seconds", "first_byte_timeout",
                "fallback_on_client_errors")


class TargetSpec(TypedDict, total=False):
    """One target as the doors give it: ``provider`` by name (or a Provider), ``model``
    (empty: the provider's default), ``priority`` (default 0), ``weight`` (default 1)."""

    provider: Any
    model: str
    priority: int
    weight: int


def _number(value: Any, *, low: float, high: float, integer: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if integer and not isinstance(value, int):
        return False
    return low <= value <= high


def route_validate(
    *, route: Route | None, data: dict[str, Any], targets: list[TargetSpec] | None,
) -> dict[str, list[str]]:
    """Field errors of a route write ({} when valid); ``targets`` None: unchanged."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    name = data.get("name", route.name if route is not None else "")
    if not isinstance(name, str) or not name:
        add("name", _("This field is required."))
    elif len(name) > 64:
        add("name", _("At most 64 characters."))
    elif not ROUTE_NAME.match(name):
        add("name", _("Use only letters, digits, dots, hyphens and underscores, starting with a letter or digit "
                      "(no slash: a route name is a whole model id)."))
    else:
        clash = selectors.name_clash(name, kind="route", instance=route)
        if clash:
            add("name", clash)
    description = data.get("description", "")
    if not isinstance(description, str) or len(description) > 200 or "\x00" in description:
        add("description", _("At most 200 characters of text."))
    attempts = data.get("max_attempts")
    if attempts is not None and not _number(attempts, low=1, high=MAX_ATTEMPTS, integer=True):
        add("max_attempts", _("A whole number from 1 to %(max)s, or empty.") % {"max": MAX_ATTEMPTS})
    for field in ("deadline_seconds", "first_byte_timeout"):
        value = data.get(field)
        if value is not None and (not _number(value, low=0.001, high=MAX_SECONDS, integer=False) or value <= 0):
            add(field, _("A number of seconds above 0 and at most %(max)s, or empty.") % {"max": int(MAX_SECONDS)})
    if targets is not None:
        errors.update(targets_errors(targets))
    return errors


def targets_errors(targets: list[TargetSpec]) -> dict[str, list[str]]:
    messages: list[str] = []
    if not isinstance(targets, list) or not targets:
        return {"targets": [_("A route needs at least one target.")]}
    if len(targets) > MAX_TARGETS:
        return {"targets": [_("At most %(max)s targets.") % {"max": MAX_TARGETS}]}
    seen: set[tuple[int, str]] = set()
    for n, spec in enumerate(targets, start=1):
        provider = spec.get("provider")
        model = spec.get("model") or ""
        where = {"n": n}
        if not isinstance(provider, Provider):
            messages.append(_("Target %(n)s: no provider named “%(name)s”.") % {**where, "name": str(provider)[:64]})
            continue
        if not isinstance(model, str) or len(model) > 200 or "\x00" in model or model.strip() != model:
            messages.append(_("Target %(n)s: the model must be text of at most 200 characters.") % where)
            continue
        allowed = (provider.settings or {}).get("allowed_models")
        if not model and not (provider.settings or {}).get("default_model"):
            messages.append(_("Target %(n)s: provider “%(name)s” has no default model; name one.")
                            % {**where, "name": provider.name})
        elif model and allowed and model not in allowed:
            messages.append(_("Target %(n)s: provider “%(name)s” does not allow the model “%(model)s”.")
                            % {**where, "name": provider.name, "model": model})
        if not _number(spec.get("priority", 0), low=0, high=MAX_PRIORITY, integer=True):
            messages.append(_("Target %(n)s: the priority must be a whole number from 0 to %(max)s.")
                            % {**where, "max": MAX_PRIORITY})
        if not _number(spec.get("weight", 1), low=1, high=MAX_WEIGHT, integer=True):
            messages.append(_("Target %(n)s: the weight must be a whole number from 1 to %(max)s.")
                            % {**where, "max": MAX_WEIGHT})
        if (provider.pk, model) in seen:
            messages.append(_("Target %(n)s: the same provider and model appear twice.") % where)
        seen.add((provider.pk, model))
    return {"targets": messages} if messages else {}


def targets_from_names(items: Iterable[dict[str, Any]]) -> list[TargetSpec]:
    """Target specs whose ``provider`` is given by name (API, import, command): names
    looked up in one query; an unknown name stays a string and is reported by validation."""
    items = list(items)
    names = {str(item.get("provider")) for item in items if isinstance(item, dict)}
    found = {p.name: p for p in selectors.providers_named(names)}
    out: list[TargetSpec] = []
    for item in items:
        if not isinstance(item, dict):
            out.append(TargetSpec(provider=str(item)))
            continue
        spec = TargetSpec(provider=found.get(str(item.get("provider")), str(item.get("provider"))))
        for name in ("model", "priority", "weight"):
            if name in item:
                spec[name] = item[name]
        out.append(spec)
    return out


def _write_targets(route: Route, targets: list[TargetSpec], *, audit_change: bool = False) -> None:
    if audit_change:
        before = [(t.provider_id, t.model, t.priority, t.weight) for t in route.targets.all()]
        after = [(getattr(s["provider"], "pk", None), s.get("model") or "", s.get("priority", 0), s.get("weight", 1))
                 for s in targets]
        if before != after:
            audit.record(Route, route, changed=["targets"], door="")
    route.targets.all().delete()
    RouteTarget.objects.bulk_create([
        RouteTarget(route=route, provider=spec["provider"], model=spec.get("model") or "",
                    priority=spec.get("priority", 0), weight=spec.get("weight", 1))
        for spec in targets
    ])


@transaction.atomic
def route_create(*, targets: list[TargetSpec], **data: Any) -> Route:
    """Create a route with its targets; raise ValidationError (a field dict) on bad input."""
    unknown = set(data) - set(ROUTE_FIELDS)
    if unknown:
        raise TypeError(f"unknown route fields: {sorted(unknown)}")
    errors = route_validate(route=None, data=data, targets=targets)
    if errors:
        raise ValidationError(errors)
    route = Route.objects.create(**data)
    _write_targets(route, targets)
    config_version.bump()
    return route


@transaction.atomic
def route_update(*, route: Route, targets: list[TargetSpec] | None = None, **data: Any) -> Route:
    """Change a route's fields (those given) and, when ``targets`` is given, replace its targets."""
    unknown = set(data) - set(ROUTE_FIELDS)
    if unknown:
        raise TypeError(f"unknown route fields: {sorted(unknown)}")
    merged = {field: getattr(route, field) for field in ROUTE_FIELDS} | data
    errors = route_validate(route=route, data=merged, targets=targets)
    if errors:
        raise ValidationError(errors)
    for field, value in data.items():
        setattr(route, field, value)
    route.save()
    if targets is not None:
        _write_targets(route, targets, audit_change=True)
    config_version.bump()
    return route


@transaction.atomic
def route_delete(*, route: Route) -> None:
    route.delete()
    config_version.bump()


def route_as_dict(route: Route) -> dict[str, Any]:
    """A route as the API, export and the command show it (targets by provider name)."""
    return {
        **{field: getattr(route, field) for field in ROUTE_FIELDS},
        "targets": [
            {"provider": t.provider.name, "model": t.model, "priority": t.priority, "weight": t.weight}
            for t in route.targets.all()
        ],
    }
