"""Re-encrypt every stored secret under the current GATEWAY_ENCRYPTION_KEY.

The procedure:

1. set the new key as ``GATEWAY_ENCRYPTION_KEY`` and list the old one in
   ``GATEWAY_ENCRYPTION_OLD_KEYS`` (the gateway keeps serving meanwhile: it can
   read both);
2. run ``manage.py rotate_encryption_key``. Each row is re-encrypted in its own
   short transaction, so the command can be interrupted and run again at any
   time: rows already under the new key are skipped;
3. run ``manage.py rotate_encryption_key --check``: when it reports that no
   secret needs an old key, remove the old key from
   ``GATEWAY_ENCRYPTION_OLD_KEYS``.

Every model field of type ``EncryptedJSONField`` is covered (provider API keys
and extra headers, and any later one). The raw columns are read and written
directly, so the plaintext never passes through ``save()`` signals and
timestamps do not change. Output names rows, never secrets.
"""
from __future__ import annotations

from typing import Any, cast

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from providers import audit
from providers.crypto import DecryptionError, EncryptedJSONField, decrypt_bytes, encrypt_bytes


def encrypted_fields() -> list[tuple[Any, list[Any]]]:
    """(model, [its encrypted fields]) for every installed model that has some."""
    found = []
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedJSONField)]
        if fields:
            found.append((model, fields))
    return found


def _audit(model: Any, pk: Any, names: list[str]) -> None:
    """History says the secrets were re-encrypted (their values did not change)."""
    row = model._base_manager.filter(pk=pk).only(model._meta.pk.name).first()
    if row is not None:
        audit.record(model, row, changed=names, door="encryption")


class Command(audit.AuditedCommand, BaseCommand):
    # Translated when shown (a lazy text stands in for the str BaseCommand declares).
    help = cast(str, gettext_lazy(
        "Re-encrypt every stored secret under GATEWAY_ENCRYPTION_KEY, reading old values with "
        "GATEWAY_ENCRYPTION_OLD_KEYS. Interruptible and safe to run again. With --check, only report "
        "whether any secret still needs an old key."
    ))

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        self.help = str(self.help)  # argparse wants a str: the lazy text in the active language
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help=_("Change nothing; exit with an error if any secret still needs an old key or cannot be read."),
        )

    def handle(self, *args: Any, check: bool = False, **options: Any) -> None:
        qn = connection.ops.quote_name
        totals = {"current": 0, "rotated": 0, "old": 0, "unreadable": 0}
        for model, fields in encrypted_fields():
            table = qn(model._meta.db_table)
            pk_column = qn(model._meta.pk.column)
            columns = ", ".join(qn(f.column) for f in fields)
            lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
            pks = list(model._base_manager.order_by("pk").values_list("pk", flat=True))
            for pk in pks:
                # One short transaction per row: an interruption loses nothing, and
                # the gateway is never blocked for long.
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        cursor.execute(f"SELECT {columns} FROM {table} WHERE {pk_column} = %s{lock}", [pk])
                        row = cursor.fetchone()
                    if row is None:  # deleted meanwhile
                        continue
                    updates: dict[str, bytes] = {}
                    for field, raw in zip(fields, row, strict=True):
                        if raw is None:
                            continue
                        label = f"{model._meta.label}#{pk}.{field.name}"
                        try:
                            plain, index = decrypt_bytes(bytes(raw))
                        except DecryptionError:
                            totals["unreadable"] += 1
                            self.stderr.write(
                                _("%(field)s cannot be decrypted with any configured key.") % {"field": label}
                            )
                            continue
                        if index == 0:
                            totals["current"] += 1
                        elif check:
                            totals["old"] += 1
                            self.stdout.write(_("%(field)s still needs an old key.") % {"field": label})
                        else:
                            updates[field.column] = encrypt_bytes(plain)
                    if updates:
                        assignments = ", ".join(f"{qn(column)} = %s" for column in updates)
                        with connection.cursor() as cursor:
                            cursor.execute(
                                f"UPDATE {table} SET {assignments} WHERE {pk_column} = %s", [*updates.values(), pk]
                            )
                        totals["rotated"] += len(updates)
                        _audit(model, pk, [f.name for f in fields if f.column in updates])
        self._report(totals, check)

    def _report(self, totals: dict[str, int], check: bool) -> None:
        if check:
            self.stdout.write(
                _("%(current)s secret(s) under the current key,"
                  " %(old)s still under an old key, %(unreadable)s unreadable.")
                % totals
            )
            if totals["old"] or totals["unreadable"]:
                raise CommandError(_("Keep GATEWAY_ENCRYPTION_OLD_KEYS:"
                                     " some secrets still need an old key or cannot be read."))
            self.stdout.write(_("No secret needs an old key: GATEWAY_ENCRYPTION_OLD_KEYS can be removed."))
            return
        self.stdout.write(
            _("%(rotated)s secret(s) re-encrypted,"
              " %(current)s already under the current key, %(unreadable)s unreadable.")
            % totals
        )
        if totals["unreadable"]:
            raise CommandError(_("Some secrets cannot be decrypted with any configured key;"
                                 " they were left as they are."))
        self.stdout.write(_("Done. Check with --check, then remove the old key from GATEWAY_ENCRYPTION_OLD_KEYS."))
