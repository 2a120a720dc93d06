"""``manage.py gateway_key create|update|list|revoke``: gateway API keys from the shell.

``create`` prints the new key alone on its last line (so scripts can take it with
``tail -n 1``); it is shown once and never stored in clear. ``create`` and
``update`` set the key's providers, rate limits, expiry (``--expires``), model
allowlist (``--allow-model``) and budgets (``--requests-per-day`` ...); on
``update`` an option left out keeps its value and ``none`` removes a limit.
"""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chat import budgets
from providers import audit, key_controls, selectors, services
from providers.models import GatewayKey


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def key_row(key: GatewayKey) -> dict[str, Any]:
    """What ``list`` shows of a key: never its hash or secret."""
    return {
        "name": key.name,
        "prefix": key.prefix,
        "created": _iso(key.created_at),
        "last_used": _iso(key.last_used_at),
        "revoked": _iso(key.revoked_at),
        "all_providers": key.all_providers,
        "providers": sorted(p.name for p in key.providers.all()),
        "rate_limit_rpm": key.rate_limit_rpm,
        "rate_limit_tpm": key.rate_limit_tpm,
        "record_bodies": key.record_bodies,
        "expires": _iso(key.expires_at),
        "allowed_models": list(key.allowed_models or []),
        **{name: getattr(key, name) for name in key_controls.BUDGET_FIELDS},
    }


BUDGET_OPTIONS = {name: "--" + name.replace("_", "-") for name in key_controls.BUDGET_FIELDS}


def parse_expiry(value: str) -> datetime | None:
    """``--expires``: an ISO 8601 date or time (UTC unless it names a zone), a span
    from now (``30d``, ``12h``, ``90m``) or ``never``."""
    value = value.strip()
    if value.lower() in {"never", "none", ""}:
        return None
    span = re.fullmatch(r"(\d{1,6})([dhm])", value)
    if span:
        unit = {"d": "days", "h": "hours", "m": "minutes"}[span[2]]
        return timezone.now() + timedelta(**{unit: int(span[1])})
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(_("--expires: “%(value)s” is not a date, a time (ISO 8601), a span such as 30d, 12h "
                             "or 90m, or “never”.") % {"value": value}) from None
    return when if timezone.is_aware(when) else when.replace(tzinfo=UTC)


def parse_limit(value: str, flag: str) -> int | None:
    """A budget option: a whole number of at least 1, or ``none`` (unlimited)."""
    if value.strip().lower() in {"none", "unlimited"}:
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise CommandError(_("%(flag)s must be a whole number of at least 1, or “none”.") % {"flag": flag})
    return number


BUDGET_HELP = {
    "requests_per_day": gettext_lazy("Requests per UTC day (“none”: unlimited)."),
    "requests_per_month": gettext_lazy("Requests per UTC month (“none”: unlimited)."),
    "tokens_per_day": gettext_lazy("Tokens per UTC day (“none”: unlimited)."),
    "tokens_per_month": gettext_lazy("Tokens per UTC month (“none”: unlimited)."),
}
def _validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


class Command(audit.AuditedCommand, BaseCommand):
    # Translated when shown (a lazy text stands in for the str BaseCommand declares).
    help = cast(str, gettext_lazy("Create, change, list and revoke gateway API keys for the /v1 API."))

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        self.help = str(self.help)  # argparse wants a str: the lazy text in the active language
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,update,list,revoke}")

        create = sub.add_parser("create", help=_("Create a key and print it (shown once, on the last line)."))
        create.add_argument("name", help=_("Unique name of the key (letters, digits, hyphens, underscores)."))
        create.add_argument(
            "--provider",
            action="append",
            default=[],
            dest="providers",
            metavar="NAME",
            help=_("Restrict the key to this provider (repeat for several). The key then never reaches "
                   "another provider, and is refused once all of these are deleted. Without --provider the key "
                   "may use every provider, present and future."),
        )
        create.add_argument("--rpm", type=int, default=None, help=_("Requests per minute for this key."))
        create.add_argument("--tpm", type=int, default=None, help=_("Tokens per minute for this key."))
        create.add_argument("--record-bodies", action="store_true",
                            help=_("Keep this key's request and answer bodies in the request log (size-capped, "
                                   "provider secrets masked), for debugging."))
        self.add_control_arguments(create)

        update = sub.add_parser("update", help=_("Change a key's providers, limits, expiry, models or budgets."))
        update.add_argument("name", help=_("Name of the key to change."))
        scope = update.add_mutually_exclusive_group()
        scope.add_argument("--provider", action="append", default=None, dest="providers", metavar="NAME",
                           help=_("Restrict the key to this provider (repeat for several); replaces the list."))
        scope.add_argument("--all-providers", action="store_true",
                           help=_("Let the key use every provider, present and future."))
        update.add_argument("--rpm", default=None, help=_("Requests per minute for this key; “none”: the default."))
        update.add_argument("--tpm", default=None, help=_("Tokens per minute for this key; “none”: the default."))
        self.add_control_arguments(update)
        update.add_argument("--all-models", action="store_true",
                            help=_("Remove the model allowlist: every model of the key's providers."))

        listing = sub.add_parser("list", help=_("List keys (never their secrets)."))
        listing.add_argument("--json", action="store_true", help=_("Print JSON instead of a table."))

        revoke = sub.add_parser("revoke", help=_("Revoke a key; it stops working at once."))
        revoke.add_argument("name", help=_("Name of the key to revoke."))

    def add_control_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--expires", default=None, metavar="WHEN",
                            help=_("When the key stops working: an ISO 8601 date or time (UTC unless a zone is "
                                   "given), a span from now such as 30d, 12h or 90m, or “never”."))
        parser.add_argument("--allow-model", action="append", default=None, dest="allowed_models",
                            metavar="PATTERN",
                            help=_("Only these model ids or patterns (repeat for several): vllm/*, chat-default, "
                                   "openrouter/anthropic/*. Without it: every model of the key's providers."))
        for name, flag in BUDGET_OPTIONS.items():
            parser.add_argument(flag, dest=name, default=None, metavar="N",
                                help=str(BUDGET_HELP[name]))

    def controls(self, options: dict[str, Any]) -> dict[str, Any]:
        """The expiry, allowlist and budgets the options name (those left out are absent)."""
        out: dict[str, Any] = {}
        if options.get("expires") is not None:
            out["expires_at"] = parse_expiry(options["expires"])
        if options.get("allowed_models") is not None:
            out["allowed_models"] = options["allowed_models"]
        elif options.get("all_models"):
            out["allowed_models"] = []
        for name, flag in BUDGET_OPTIONS.items():
            if options.get(name) is not None:
                out[name] = parse_limit(options[name], flag)
        return out

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self.create(options)
        elif action == "update":
            self.update(options)
        elif action == "list":
            self.list(as_json=options["json"])
        else:
            self.revoke(options["name"])

    def create(self, options: dict[str, Any]) -> None:
        names: list[str] = options["providers"]
        providers = list(selectors.providers_named(names))
        missing = sorted(set(names) - {p.name for p in providers})
        if missing:
            raise CommandError(_("Unknown provider(s): %(names)s.") % {"names": ", ".join(missing)})
        for value, flag in ((options["rpm"], "--rpm"), (options["tpm"], "--tpm")):
            if value is not None and value < 1:
                raise CommandError(_("%(flag)s must be a whole number of at least 1.") % {"flag": flag})
        try:
            key, raw = services.gateway_key_create(
                name=options["name"],
                providers=providers,
                all_providers=not names,
                rate_limit_rpm=options["rpm"],
                rate_limit_tpm=options["tpm"],
                record_bodies=options["record_bodies"],
                **self.controls(options),
            )
        except ValidationError as exc:
            raise CommandError(_validation_message(exc)) from None
        scope = ", ".join(sorted(p.name for p in providers)) or _("every provider")
        self.stdout.write(_("Created gateway key “%(name)s” for %(scope)s.") % {"name": key.name, "scope": scope})
        self.stdout.write(_("Copy it now: it is shown only once."))
        self.stdout.write(raw)

    def update(self, options: dict[str, Any]) -> None:
        key = selectors.gateway_key_by_name(options["name"])
        if key is None:
            raise CommandError(_("No gateway key named “%(name)s”.") % {"name": options["name"]})
        if key.revoked_at is not None:
            raise CommandError(_("Gateway key “%(name)s” is revoked; it cannot be changed.") % {"name": key.name})
        names: list[str] | None = options["providers"]
        if names is not None:
            providers = list(selectors.providers_named(names))
            missing = sorted(set(names) - {p.name for p in providers})
            if missing:
                raise CommandError(_("Unknown provider(s): %(names)s.") % {"names": ", ".join(missing)})
            all_providers = False
        elif options["all_providers"]:
            providers, all_providers = [], True
        else:
            providers, all_providers = list(key.providers.all()), key.all_providers
        rates = {}
        for field, flag in (("rpm", "--rpm"), ("tpm", "--tpm")):
            value = options[field]
            rates[field] = getattr(key, f"rate_limit_{field}") if value is None else parse_limit(value, flag)
        try:
            services.gateway_key_update(key=key, all_providers=all_providers, providers=providers,
                                        rate_limit_rpm=rates["rpm"], rate_limit_tpm=rates["tpm"],
                                        **self.controls(options))
        except ValidationError as exc:
            raise CommandError(_validation_message(exc)) from None
        self.stdout.write(_("Updated gateway key “%(name)s”.") % {"name": key.name})

    def list(self, *, as_json: bool) -> None:
        keys = list(selectors.gateway_key_list())
        rows = [key_row(k) for k in keys]
        use = budgets.usage(keys)
        for key, key_row_ in zip(keys, rows, strict=True):
            key_row_["usage"] = use[key.pk]
        if as_json:
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        if not rows:
            self.stdout.write(_("No gateway keys."))
            return
        headers = [_("name"), _("prefix"), _("created"), _("last used"), _("revoked"), _("expires"), _("models"),
                   _("budgets"), _("providers")]
        table = [
            [
                r["name"],
                r["prefix"] + "…",
                (r["created"] or "")[:19],
                (r["last_used"] or _("never"))[:19],
                (r["revoked"] or "-")[:19],
                (r["expires"] or _("never"))[:19],
                ", ".join(r["allowed_models"]) or _("all"),
                budgets.summary(r["usage"]),
                _("all") if r["all_providers"] else (", ".join(r["providers"]) or _("no provider left")),
            ]
            for r in rows
        ]
        widths = [max(len(str(h)), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]
        self.stdout.write("  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
        for row in table:
            self.stdout.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())

    def revoke(self, name: str) -> None:
        key = selectors.gateway_key_by_name(name)
        if key is None:
            raise CommandError(_("No gateway key named “%(name)s”.") % {"name": name})
        already = key.revoked_at is not None
        services.gateway_key_revoke(key=key)
        if already:
            self.stdout.write(_("Gateway key “%(name)s” was already revoked.") % {"name": name})
        else:
            self.stdout.write(_("Revoked gateway key “%(name)s”.") % {"name": name})
