"""``manage.py routes list|show|add|change|delete``: routes (model aliases) from a shell.

Targets are given as ``--target "PROVIDER/MODEL [priority=N] [weight=N]"`` (repeatable;
``PROVIDER`` alone: its default model). Every write goes through
``providers.routes.services``, like the admin, the REST API and config import;
``--json`` prints one JSON document for scripts. ``list`` shows each target's health.
"""
from __future__ import annotations

import json
from argparse import _SubParsersAction
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from providers import selectors
from providers.health import breaker
from providers.health import display as health_display
from providers.management.action_command import ActionCommand
from providers.models import Route
from providers.routes import services as route_services


def parse_target(text: str) -> dict[str, Any]:
    """``"vllm/llama-3 priority=1 weight=2"`` as a target spec with the provider by name."""
    head, *options = text.split()
    if not head:
        raise CommandError(_("A target is “PROVIDER/MODEL [priority=N] [weight=N]”."))
    provider, _sep, model = head.partition("/")
    spec: dict[str, Any] = {"provider": provider, "model": model}
    for option in options:
        name, sep, value = option.partition("=")
        if name not in ("priority", "weight") or not sep or not value.isdigit():
            raise CommandError(
                _("Unknown target option “%(option)s”: use priority=N or weight=N.") % {"option": option})
        spec[name] = int(value)
    return spec


class Command(ActionCommand):
    help = "Manage routes: list, show, add, change, delete."

    def add_actions(self, sub: _SubParsersAction[CommandParser]) -> None:
        p = sub.add_parser("list", help="List routes with their targets' health.")
        p.add_argument("--json", action="store_true")
        p = sub.add_parser("show", help="Show one route.")
        p.add_argument("name")
        p.add_argument("--json", action="store_true")
        for action, text in (("add", "Create a route."),
                             ("change", "Change a route (targets given replace them all).")):
            p = sub.add_parser(action, help=text)
            p.add_argument("name")
            p.add_argument("--target", action="append", default=None, help="PROVIDER/MODEL [priority=N] [weight=N]")
            p.add_argument("--description", default=None)
            p.add_argument("--max-attempts", type=int, default=None)
            p.add_argument("--deadline", type=float, default=None, help="Seconds for all attempts.")
            p.add_argument("--first-byte-timeout", type=float, default=None)
            p.add_argument("--fallback-on-client-errors", choices=("yes", "no"), default=None)
            p.add_argument("--enabled", choices=("yes", "no"), default=None)
            p.add_argument("--json", action="store_true")
            if action == "change":
                p.add_argument("--rename", default=None)
        p = sub.add_parser("delete", help="Delete a route.")
        p.add_argument("name")

    def get_route(self, name: str) -> Route:
        try:
            return selectors.route_list().get(name=name)
        except Route.DoesNotExist:
            raise CommandError(_("No route named “%(name)s”.") % {"name": name}) from None

    def show(self, route: Route, options: dict[str, Any]) -> None:
        data = self.describe(route)
        if options.get("json"):
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
            return
        self.stdout.write(f"{route.name}  {'' if route.enabled else _('(disabled)')}  {route.description}")
        for target in data["targets"]:
            self.stdout.write("  " + _("%(target)s: priority %(priority)s, weight %(weight)s: %(health)s") % {
                "target": f"{target['provider']}/{target['model']}" if target["model"] else target["provider"],
                "priority": target["priority"], "weight": target["weight"], "health": target["health_text"]})

    def describe(self, route: Route) -> dict[str, Any]:
        data = route_services.route_as_dict(route)
        for target, row in zip(route.targets.all(), data["targets"], strict=True):
            model = target.model or (target.provider.settings or {}).get("default_model") or ""
            state = breaker.target_state(breaker.target_key(target.provider.name, model))
            row["health"] = state["state"]
            row["health_text"] = health_display.describe(state)
        return data

    def do_list(self, options: dict[str, Any]) -> None:
        breaker.refresh_for_display()
        routes = list(selectors.route_list())
        if options["json"]:
            self.stdout.write(json.dumps([self.describe(r) for r in routes], indent=2, ensure_ascii=False))
            return
        if not routes:
            self.stdout.write(_("No routes."))
        for route in routes:
            self.show(route, options)

    def do_show(self, options: dict[str, Any]) -> None:
        breaker.refresh_for_display()
        self.show(self.get_route(options["name"]), options)

    def fields(self, options: dict[str, Any]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for option, name in (("description", "description"), ("max_attempts", "max_attempts"),
                             ("deadline", "deadline_seconds"), ("first_byte_timeout", "first_byte_timeout")):
            if options.get(option) is not None:
                fields[name] = options[option]
        for option in ("fallback_on_client_errors", "enabled"):
            if options.get(option) is not None:
                fields[option] = options[option] == "yes"
        if options.get("rename"):
            fields["name"] = options["rename"]
        return fields

    def targets(self, options: dict[str, Any]) -> list[route_services.TargetSpec] | None:
        if options.get("target") is None:
            return None
        return route_services.targets_from_names([parse_target(t) for t in options["target"]])

    def do_add(self, options: dict[str, Any]) -> None:
        try:
            route = route_services.route_create(name=options["name"], targets=self.targets(options) or [],
                                                **self.fields(options))
        except ValidationError as exc:
            raise self.validation_error(exc) from None
        self.show(self.get_route(route.name), options)

    def do_change(self, options: dict[str, Any]) -> None:
        route = self.get_route(options["name"])
        try:
            route = route_services.route_update(route=route, targets=self.targets(options), **self.fields(options))
        except ValidationError as exc:
            raise self.validation_error(exc) from None
        self.show(self.get_route(route.name), options)

    def do_delete(self, options: dict[str, Any]) -> None:
        route_services.route_delete(route=self.get_route(options["name"]))
        self.stdout.write(_("Route “%(name)s” deleted.") % {"name": options["name"]})

    def validation_error(self, exc: ValidationError) -> CommandError:
        if hasattr(exc, "error_dict"):
            return CommandError("\n".join(f"{f}: {m}" for f, msgs in exc.message_dict.items() for m in msgs))
        return CommandError("\n".join(exc.messages))
