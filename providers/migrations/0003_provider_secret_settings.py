"""Move the secret settings (``extra_query`` and ``env`` values) out of the plaintext
``settings`` column into the encrypted ``secret_settings`` field, and back when
migrating backwards."""
from __future__ import annotations

import providers.crypto
from django.db import migrations

SECRET_MAPS = ("extra_query", "env")  # frozen here: a migration must not follow later code


def encrypt_secret_settings(apps, schema_editor):
    Provider = apps.get_model("providers", "Provider")
    for provider in Provider.objects.all():
        settings = dict(provider.settings or {})
        moved = {name: settings.pop(name) for name in SECRET_MAPS if name in settings}
        if moved:
            provider.settings = settings
            provider.secret_settings = {**(provider.secret_settings or {}), **moved}
            provider.save(update_fields=["settings", "secret_settings"])


def decrypt_secret_settings(apps, schema_editor):
    Provider = apps.get_model("providers", "Provider")
    for provider in Provider.objects.exclude(secret_settings__isnull=True):
        provider.settings = {**(provider.settings or {}), **(provider.secret_settings or {})}
        provider.secret_settings = None
        provider.save(update_fields=["settings", "secret_settings"])


class Migration(migrations.Migration):

    dependencies = [
        ("providers", "0002_gatewaykey_all_providers"),
    ]

    operations = [
        migrations.AddField(
            model_name="provider",
            name="secret_settings",
            field=providers.crypto.EncryptedJSONField(blank=True, null=True, verbose_name="secret settings"),
        ),
        migrations.RunPython(encrypt_secret_settings, decrypt_secret_settings),
    ]
