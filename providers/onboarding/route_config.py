"""Routes in the configuration file (``providers.onboarding.config_io``), beside the providers::

    routes:
      - name: chat-default              # the model id clients send; the key of the upsert
        description: Replicas first, hosted fallback
        enabled: true
        max_attempts: 3                 # optional; empty: the gateway default
        deadline_seconds: 60            # optional
        first_byte_timeout: 10          # optional
        fallback_on_client_errors: false
        targets:
          - {provider: vllm-a, model: llama-3-8b, priority: 0, weight: 2}
          - {provider: hosted, model: gpt-4o-mini, priority: 1}

Routes are imported after the providers, in the same transaction, through
``providers.routes.services``; a route's targets are replaced by the file's. A file without a
``routes`` key leaves the routes alone (even with ``--prune``); with one, ``--prune``
also removes the routes it does not name. Routes hold no secret: export writes them as stored.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .. import selectors
from ..models import Route
from ..routes import services as route_services
from .config_problems import Problem, named_entries, refused

ROUTE_KEYS = set(route_services.ROUTE_FIELDS) | {"targets"}
TARGET_KEYS = {"provider", "model", "priority", "weight"}


@dataclass
class RouteEntry:
    index: int
    name: str
    fields: dict[str, Any]
    targets: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return entry_label(self.index, self.name)


def entry_label(index: int, name: str | None) -> str:
    if name is not None:
        return _("routes[%(index)s] “%(name)s”") % {"index": index, "name": name}
    return _("routes[%(index)s]") % {"index": index}


def parse_routes(raw_routes: Any, problems: list[Problem]) -> list[RouteEntry]:
    """The file's ``routes`` list, its shape checked (values are checked on import)."""
    if not isinstance(raw_routes, list):
        problems.append(("", "routes", _("Must be a list of routes.")))
        return []
    out: list[RouteEntry] = []
    for index, name, label, raw in named_entries(raw_routes, label=entry_label, problems=problems,
                                                 not_an_object=_("Each route must be an object."), valid=ROUTE_KEYS):
        targets = raw.get("targets")
        if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
            problems.append((label, "targets", _("Must be a list of targets.")))
            targets = []
        for n, target in enumerate(targets):
            for key in sorted(set(target) - TARGET_KEYS):
                problems.append((label, f"targets[{n}].{key}", _("Unknown field. Valid fields: %(valid)s.")
                                 % {"valid": ", ".join(sorted(TARGET_KEYS))}))
        fields = {k: raw[k] for k in route_services.ROUTE_FIELDS if k in raw}
        fields.setdefault("description", "")
        fields.setdefault("enabled", True)
        out.append(RouteEntry(index=index, name=name, fields=fields, targets=list(targets)))
    return out


def import_routes(entries: list[RouteEntry], *, prune: bool) -> list[tuple[str, str, list[str]]]:
    """Upsert the routes (inside the caller's transaction); returns (action, name, fields) per route.
    Raises ``ValidationError`` wrapped with the entry's label as ``(label, field, message)`` problems."""

    changes: list[tuple[str, str, list[str]]] = []
    existing = {r.name: r for r in selectors.route_list().select_for_update(of=("self",))}
    for entry in entries:
        route = existing.get(entry.name)
        targets = route_services.targets_from_names(entry.targets)
        try:
            if route is None:
                route_services.route_create(targets=targets, **entry.fields)
                changes.append(("create", entry.name, []))
                continue
            current = route_services.route_as_dict(route)
            wanted = {**current, **entry.fields, "targets": [
                {"provider": t.get("provider"), "model": t.get("model") or "", "priority": t.get("priority", 0),
                 "weight": t.get("weight", 1)} for t in entry.targets]}
            changed = sorted(k for k in wanted if wanted[k] != current.get(k))
            if not changed:
                changes.append(("unchanged", entry.name, []))
                continue
            route_services.route_update(route=route, targets=targets, **entry.fields)
            changes.append(("update", entry.name, changed))
        except ValidationError as exc:
            raise refused(entry.label, exc) from None
    if prune:
        names = {e.name for e in entries}
        for name, route in existing.items():
            if name not in names:
                route_services.route_delete(route=route)
                changes.append(("delete", name, []))
    return changes


def export_routes() -> list[dict[str, Any]]:
    out = []
    for route in selectors.route_list():
        data = route_services.route_as_dict(route)
        out.append({k: v for k, v in data.items() if v is not None or k == "name"})
    return out


def routes_exist() -> bool:
    return Route.objects.exists()
