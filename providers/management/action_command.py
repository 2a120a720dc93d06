"""What ``manage.py providers`` and ``manage.py routes`` share: a command of several
actions (``list``, ``add`` ...), one subcommand each, run in the language asked for."""
from __future__ import annotations

from argparse import _SubParsersAction
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import translation

from providers import audit


class ActionCommand(audit.AuditedCommand, BaseCommand):
    """``--language`` for the messages, then one subcommand per action (``add_actions``),
    each run by the method ``do_<action>(options)``. Writes are audited as made by
    ``manage.py <command name>``."""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--language", default=None, help="Language of messages (en, vi, zh-hans).")
        self.add_actions(parser.add_subparsers(dest="action", required=True))

    def add_actions(self, actions: _SubParsersAction[CommandParser]) -> None:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        language = options.get("language") or translation.get_language() or settings.LANGUAGE_CODE
        with translation.override(language):
            getattr(self, "do_" + options["action"])(options)
