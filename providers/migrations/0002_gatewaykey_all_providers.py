"""An explicit "all providers" flag on gateway keys.

Before, an empty provider set meant "every provider", so deleting the last
provider a key was restricted to silently widened it. Existing keys keep their
meaning: an empty set becomes ``all_providers=True``, a non-empty one stays a
restriction. Going back, a restricted key with no provider left cannot be
expressed in the old scheme, so it is revoked rather than widened."""
from __future__ import annotations

from django.db import migrations, models
from django.db.models import Count
from django.utils import timezone


def flag_from_empty_sets(apps, schema_editor):
    GatewayKey = apps.get_model("providers", "GatewayKey")
    keys = GatewayKey.objects.annotate(n=Count("providers"))
    GatewayKey.objects.filter(pk__in=keys.filter(n=0).values("pk")).update(all_providers=True)
    GatewayKey.objects.filter(pk__in=keys.filter(n__gt=0).values("pk")).update(all_providers=False)


def revoke_keys_with_no_provider_left(apps, schema_editor):
    GatewayKey = apps.get_model("providers", "GatewayKey")
    stranded = GatewayKey.objects.filter(all_providers=False).annotate(n=Count("providers")).filter(n=0)
    GatewayKey.objects.filter(pk__in=stranded.values("pk"), revoked_at__isnull=True).update(revoked_at=timezone.now())


class Migration(migrations.Migration):

    dependencies = [
        ("providers", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="gatewaykey",
            name="all_providers",
            field=models.BooleanField(
                default=False,
                help_text="Allow every provider, present and future. Otherwise only the providers chosen below.",
                verbose_name="all providers",
            ),
        ),
        migrations.AlterField(
            model_name="gatewaykey",
            name="providers",
            field=models.ManyToManyField(
                blank=True,
                help_text="Used when “all providers” is off. A key whose providers are all deleted is refused.",
                to="providers.provider",
                verbose_name="allowed providers",
            ),
        ),
        migrations.RunPython(flag_from_empty_sets, revoke_keys_with_no_provider_left),
    ]
