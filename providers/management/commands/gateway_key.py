"""``manage.py gateway_key create|list|revoke``: gateway API keys from the shell.

``create`` prints the new key alone on its last line (so scripts can take it with
``tail -n 1``); it is shown once and never stored in clear.
"""
from __future__ import annotations

import json
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from providers import audit, selectors, services
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
    }


def _validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


class Command(audit.AuditedCommand, BaseCommand):
    # Translated when shown (a lazy text stands in for the str BaseCommand declares).
    help = cast(str, gettext_lazy("Create, list and revoke gateway API keys for the /v1 API."))

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        self.help = str(self.help)  # argparse wants a str: the lazy text in the active language
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")

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

        listing = sub.add_parser("list", help=_("List keys (never their secrets)."))
        listing.add_argument("--json", action="store_true", help=_("Print JSON instead of a table."))

        revoke = sub.add_parser("revoke", help=_("Revoke a key; it stops working at once."))
        revoke.add_argument("name", help=_("Name of the key to revoke."))

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self.create(options)
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
            )
        except ValidationError as exc:
            raise CommandError(_validation_message(exc)) from None
        scope = ", ".join(sorted(p.name for p in providers)) or _("every provider")
        self.stdout.write(_("Created gateway key “%(name)s” for %(scope)s.") % {"name": key.name, "scope": scope})
        self.stdout.write(_("Copy it now: it is shown only once."))
        self.stdout.write(raw)

    def list(self, *, as_json: bool) -> None:
        rows = [key_row(k) for k in selectors.gateway_key_list()]
        if as_json:
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        if not rows:
            self.stdout.write(_("No gateway keys."))
            return
        headers = [_("name"), _("prefix"), _("created"), _("last used"), _("revoked"), _("providers")]
        table = [
            [
                r["name"],
                r["prefix"] + "…",
                (r["created"] or "")[:19],
                (r["last_used"] or _("never"))[:19],
                (r["revoked"] or "-")[:19],
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
