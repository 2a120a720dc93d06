"""``manage.py providers list|add|test|models|import|export``.

Readable by people (tables, colours on a terminal, a progress bar while testing
every provider) and by scripts (``--json`` prints one JSON document). Every write
goes through ``providers.services``; checks through ``providers.onboarding.probe``; files
through ``providers.onboarding.config_io``.
"""
from __future__ import annotations

import json
import os
import sys
from argparse import _SubParsersAction
from pathlib import Path
from typing import IO, Any, cast

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from rich.markup import escape

from providers import audit, catalog, selectors, services
from providers.management.action_command import ActionCommand
from providers.models import Provider
from providers.onboarding import config_io, probe

STATUS_STYLE = {"ok": "green", "warn": "yellow", "fail": "red", "skip": "dim"}


class Command(ActionCommand):
    help = "Manage providers: list, add, test, models, import, export."

    def add_actions(self, sub: _SubParsersAction[CommandParser]) -> None:
        p = sub.add_parser("list", help="List providers.")
        p.add_argument("--json", action="store_true")

        p = sub.add_parser("add", help="Register a provider.")
        p.add_argument("name")
        p.add_argument("--type", dest="provider_type", default="custom", choices=catalog.type_keys())
        p.add_argument("--base-url", default="")
        p.add_argument("--api-key-env", help="Read the API key from this environment variable.")
        p.add_argument("--api-key-file", help="Read the API key from this file.")
        p.add_argument("--api-key-stdin", action="store_true", help="Read the API key from standard input.")
        p.add_argument("--model", action="append", default=[], help="A model name (repeatable).")
        p.add_argument("--default-model", default=None)
        p.add_argument("--display-name", default="")
        p.add_argument("--disabled", action="store_true")
        p.add_argument("--json", action="store_true")

        p = sub.add_parser("test", help="Test connections (and probe capabilities with --probe).")
        p.add_argument("names", nargs="*")
        p.add_argument("--all", action="store_true", help="Every enabled provider.")
        p.add_argument("--probe", action="store_true", help="Run the capability checklist.")
        p.add_argument("--apply", action="store_true", help="Apply the probe's suggested settings.")
        p.add_argument("--timeout", type=float, default=None)
        p.add_argument("--json", action="store_true")

        p = sub.add_parser("models", help="Show the models a backend reports; set the allowlist.")
        p.add_argument("name")
        p.add_argument("--allow", nargs="+", default=None, help="Set allowed_models to these names.")
        p.add_argument("--default", dest="default_model", default=None, help="Set default_model.")
        p.add_argument("--timeout", type=float, default=None)
        p.add_argument("--json", action="store_true")

        p = sub.add_parser("import", help="Import providers from a YAML or JSON file.")
        p.add_argument("file", help="Path, or - for standard input.")
        p.add_argument("--dry-run", action="store_true",
                       help="Show the changes; change nothing. Secrets not available here are reported, not "
                            "errors: the exit status is 0 unless the file itself is invalid.")
        p.add_argument("--prune", action="store_true", help="Delete providers that are not in the file.")
        p.add_argument("--allow-inline-secrets", action="store_true",
                       help="Accept keys written in the file without a warning.")
        p.add_argument("--json", action="store_true")

        p = sub.add_parser("export", help="Export providers (no secrets) as YAML or JSON.")
        p.add_argument("--format", choices=("yaml", "json"), default=None)
        p.add_argument("-o", "--output", default=None)
        p.add_argument("--json", action="store_true", help="Same as --format json.")

    # -- plumbing ------------------------------------------------------------

    def console(self, stderr: bool = False) -> Any:
        from rich.console import Console

        out = cast(IO[str], (self.stderr if stderr else self.stdout)._out)
        return Console(file=out, highlight=False, soft_wrap=True)

    def emit_json(self, value: Any) -> None:
        self.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str))

    def get_provider(self, name: str) -> Provider:
        try:
            return Provider.objects.get(name=name)
        except Provider.DoesNotExist:
            raise CommandError(_("No provider named “%(name)s”.") % {"name": name}) from None

    def validation_error(self, exc: ValidationError) -> CommandError:
        if hasattr(exc, "error_dict"):
            lines = [f"{field}: {m}" for field, msgs in exc.message_dict.items() for m in msgs]
        else:
            lines = list(exc.messages)
        return CommandError("\n".join(lines))

    # -- list ----------------------------------------------------------------

    def do_list(self, options: dict[str, Any]) -> None:
        rows: list[dict[str, Any]] = []
        for p in selectors.provider_list():
            rows.append({
                "name": p.name,
                "display_name": p.display_name,
                "type": p.provider_type,
                "base_url": p.base_url,
                "enabled": p.enabled,
                "has_api_key": p.has_api_key,
                "models": list((p.settings or {}).get("allowed_models") or (p.settings or {}).get("models") or []),
                "default_model": (p.settings or {}).get("default_model"),
            })
        if options["json"]:
            self.emit_json(rows)
            return
        from rich.table import Table

        table = Table(title=_("Providers"))
        for title in (_("Name"), _("Type"), _("Base URL"), _("Enabled"), _("API key"), _("Models")):
            table.add_column(title)
        for r in rows:
            table.add_row(
                escape(r["name"]), r["type"], escape(r["base_url"] or "—"),
                "[green]✔[/]" if r["enabled"] else "[red]✘[/]",
                _("set") if r["has_api_key"] else "—",
                escape(", ".join(r["models"][:5]) + (" …" if len(r["models"]) > 5 else "")),
            )
        self.console().print(table)

    # -- add -----------------------------------------------------------------

    def do_add(self, options: dict[str, Any]) -> None:
        api_key = None
        if options["api_key_env"]:
            api_key = os.environ.get(options["api_key_env"])
            if not api_key:
                raise CommandError(
                    _("The environment variable %(name)s is not set.") % {"name": options["api_key_env"]}
                )
        elif options["api_key_file"]:
            try:
                api_key = Path(options["api_key_file"]).read_text(encoding="utf-8").strip()
            except OSError:
                raise CommandError(_("The file %(path)s cannot be read.") % {"path": options["api_key_file"]}) from None
        elif options["api_key_stdin"]:
            api_key = sys.stdin.readline().strip() or None
        settings_value: dict[str, Any] = {}
        if options["model"]:
            settings_value["models"] = options["model"]
        if options["default_model"]:
            settings_value["default_model"] = options["default_model"]
        try:
            provider = services.provider_create(
                name=options["name"],
                provider_type=options["provider_type"],
                base_url=options["base_url"],
                api_key=api_key,
                settings=settings_value,
                enabled=not options["disabled"],
                display_name=options["display_name"],
            )
        except ValidationError as exc:
            raise self.validation_error(exc) from None
        if options["json"]:
            self.emit_json({"name": provider.name, "type": provider.provider_type, "id": provider.pk})
        else:
            self.console().print(_("Provider “%(name)s” created.") % {"name": provider.name}, style="green")

    # -- test ----------------------------------------------------------------

    def do_test(self, options: dict[str, Any]) -> None:
        if options["all"]:
            providers = list(selectors.provider_list_enabled())
        elif options["names"]:
            providers = [self.get_provider(n) for n in options["names"]]
        else:
            raise CommandError(_("Name one or more providers, or pass --all."))
        if options["probe"]:
            self.run_probes(providers, options)
            return
        results = self.check_many(providers, options)
        if options["json"]:
            self.emit_json([{"name": p.name, "type": p.provider_type, **r.as_dict()} for p, r in results])
        else:
            from rich.table import Table

            table = Table(title=_("Connection checks"))
            for title in (_("Name"), _("Type"), _("Status"), _("Latency"), _("Models"), _("Details")):
                table.add_column(title)
            for p, r in results:
                table.add_row(
                    escape(p.name), p.provider_type,
                    f"[green]{_('OK')}[/]" if r.ok else f"[red]{_('Failed')}[/]",
                    f"{r.latency_ms} ms" if r.latency_ms is not None else "—",
                    str(r.model_count) if r.model_count is not None else "—",
                    escape(r.message()),
                )
            self.console().print(table)
        if any(not r.ok for _p, r in results):
            raise CommandError(_("%(count)s of %(total)s providers failed the check.") % {
                "count": sum(1 for _p, r in results if not r.ok), "total": len(results)})

    def check_many(self, providers: list[Provider],
                   options: dict[str, Any]) -> list[tuple[Provider, probe.ConnectionResult]]:
        timeout = options.get("timeout")
        if options["json"] or len(providers) < 2:
            return probe.check_many(providers, timeout=timeout)
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      console=self.console(stderr=True)) as progress:
            task = progress.add_task(_("Testing providers"), total=len(providers))
            return probe.check_many(providers, timeout=timeout, on_result=lambda _p, _r: progress.advance(task))

    def run_probes(self, providers: list[Provider], options: dict[str, Any]) -> None:
        reports = []
        for p in providers:
            report = probe.probe_provider(p, timeout=options.get("timeout"))
            applied = False
            suggestion = report.suggestions()
            if options["apply"] and suggestion:
                try:
                    probe.apply_suggestions(p, suggestion)
                    applied = True
                except ValidationError as exc:
                    raise self.validation_error(exc) from None
            reports.append((p, report, applied))
        if options["json"]:
            self.emit_json([{"name": p.name, **r.as_dict(), "applied": applied} for p, r, applied in reports])
            return
        from rich.table import Table

        console = self.console()
        for p, report, applied in reports:
            table = Table(title=_("Capability probe: %(name)s") % {"name": p.name})
            for title in (_("Check"), _("Status"), _("Details")):
                table.add_column(title)
            for item in report.items:
                style = STATUS_STYLE.get(item.status, "")
                table.add_row(escape(probe.item_label(item.key)), f"[{style}]{probe.status_label(item.status)}[/]",
                              escape(item.message()))
            console.print(table)
            suggestion = report.suggestions()
            if suggestion:
                if applied:
                    console.print(escape(_("Applied: %(change)s") % {"change": json.dumps(suggestion)}), style="green")
                else:
                    console.print(escape(_("Suggested change (apply with --apply): %(change)s")
                                         % {"change": json.dumps(suggestion)}), style="yellow")

    # -- models --------------------------------------------------------------

    def do_models(self, options: dict[str, Any]) -> None:
        provider = self.get_provider(options["name"])
        result, models = probe.fetch_models(provider, timeout=options.get("timeout"))
        if options["allow"] is not None or options["default_model"]:
            new_settings = dict(provider.settings or {})
            if options["allow"] is not None:
                new_settings["allowed_models"] = options["allow"]
            if options["default_model"]:
                new_settings["default_model"] = options["default_model"]
            try:
                with audit.acting(door="fetch-models"):
                    provider = services.provider_update(provider=provider, settings=new_settings)
            except ValidationError as exc:
                raise self.validation_error(exc) from None
        allowed = set((provider.settings or {}).get("allowed_models") or [])
        default = (provider.settings or {}).get("default_model")
        if options["json"]:
            self.emit_json({
                "name": provider.name, "connection": result.as_dict(), "models": models,
                "allowed_models": sorted(allowed), "default_model": default,
            })
            return
        console = self.console()
        if not result.ok and not models:
            console.print(escape(result.message()), style="red")
        from rich.table import Table

        table = Table(title=_("Models of %(name)s") % {"name": provider.name})
        for title in (_("Model"), _("Allowed"), _("Default")):
            table.add_column(title)
        for m in models:
            table.add_row(escape(m), "✔" if (not allowed or m in allowed) else "", "★" if m == default else "")
        console.print(table)
        if not result.ok and not models:
            raise CommandError(result.message())

    # -- import / export ----------------------------------------------------

    def do_import(self, options: dict[str, Any]) -> None:
        try:
            result = config_io.import_file(
                options["file"], prune=options["prune"], dry_run=options["dry_run"],
                allow_inline=options["allow_inline_secrets"],
            )
        except config_io.ConfigError as exc:
            if options["json"]:
                self.emit_json({"error": [
                    {"entry": e, "field": f, "message": m} for e, f, m in exc.problems]})
            raise CommandError(_("Nothing was imported:") + "\n" + "\n".join(exc.lines())) from None
        except OSError as exc:
            raise CommandError(_("The file %(path)s cannot be read.") % {"path": options["file"]}) from exc
        if options["json"]:
            self.emit_json(result.as_dict())
            return
        console = self.console()
        for warning in result.warnings:
            console.print(escape(_("Warning: %(message)s") % {"message": warning}), style="yellow")
        styles = {"create": ("+", "green"), "update": ("~", "yellow"), "delete": ("-", "red"),
                  "unchanged": ("=", "dim")}
        labels = {"create": _("create"), "update": _("update"), "delete": _("delete"), "unchanged": _("unchanged")}
        for change in result.changes:
            mark, style = styles[change.action]
            fields = f" ({', '.join(change.fields)})" if change.fields else ""
            name = change.name if change.kind == "provider" else _("gateway key %(name)s") % {"name": change.name}
            console.print(escape(f"{mark} {labels[change.action]} {name}{fields}"), style=style)
        counts = result.counts()
        summary = _(
            "%(create)s to create, %(update)s to update, %(delete)s to delete, %(unchanged)s unchanged."
        ) % counts
        if result.findings:
            # Not errors of the file: the secrets live elsewhere (environment, secret files) and
            # this machine lacks them. The dry run checked the rest; the import itself refuses them.
            console.print(_("Secrets not available here (the import needs them; the rest was checked):"),
                          style="yellow")
            for line in config_io.problem_lines(result.findings):
                console.print(escape(f"  ! {line}"), style="yellow")
        if result.dry_run:
            console.print(_("Dry run: nothing was changed.") + " " + summary, style="bold")
        else:
            console.print(summary, style="bold")

    def do_export(self, options: dict[str, Any]) -> None:
        fmt = options["format"] or ("json" if options["json"] else None)
        if fmt is None:
            fmt = "json" if (options["output"] or "").lower().endswith(".json") else "yaml"
        text = config_io.dump(config_io.export_document(), fmt)
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
            self.stderr.write(_("Wrote %(path)s.") % {"path": options["output"]})
        else:
            self.stdout.write(text, ending="")
