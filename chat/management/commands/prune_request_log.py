"""``manage.py prune_request_log``: delete request log rows older than the retention
now (each worker also does it hourly by itself; see chat/requestlog_writer.py)."""
from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from chat import services


class Command(BaseCommand):
    # Translated when shown (a lazy text stands in for the str BaseCommand declares).
    help = cast(str, gettext_lazy("Delete request log rows older than GATEWAY_REQUEST_LOG_DAYS (or --days) now."))

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        self.help = str(self.help)
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=None,
            help=_("Keep this many days instead of GATEWAY_REQUEST_LOG_DAYS (at least 1)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days is None:
            days = settings.GATEWAY_REQUEST_LOG_DAYS
            if days == 0:
                self.stdout.write(_("GATEWAY_REQUEST_LOG_DAYS is 0: the request log is kept forever; nothing deleted."))
                return
        elif days < 1:
            raise CommandError(_("--days must be a whole number of at least 1."))
        deleted = services.request_log_prune(days=days)
        self.stdout.write(
            ngettext("Deleted %(count)s request log row older than %(days)s days.",
                     "Deleted %(count)s request log rows older than %(days)s days.", deleted)
            % {"count": deleted, "days": days}
        )
