"""Routes: model aliases served by ordered, weighted provider targets (issue 14)."""
from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0004_gatewaykey_record_bodies"),
    ]

    operations = [
        migrations.CreateModel(
            name="Route",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(help_text="The model id clients send. Letters, digits, dots, hyphens and underscores; no slash.", max_length=64, unique=True, verbose_name="name")),
                ("description", models.CharField(blank=True, max_length=200, verbose_name="description")),
                ("enabled", models.BooleanField(default=True, verbose_name="enabled")),
                ("max_attempts", models.PositiveSmallIntegerField(blank=True, help_text="Targets tried for one request before the error goes to the client. Empty: the gateway default.", null=True, verbose_name="maximum attempts")),
                ("deadline_seconds", models.FloatField(blank=True, help_text="Time all attempts together may take before the first byte. Empty: the gateway default.", null=True, verbose_name="deadline (seconds)")),
                ("first_byte_timeout", models.FloatField(blank=True, help_text="How long one attempt of a stream may wait for its first byte before the next target is tried. Empty: the gateway default.", null=True, verbose_name="time to first byte (seconds)")),
                ("fallback_on_client_errors", models.BooleanField(default=False, help_text="Also try the next target when a target answers 400, 401, 403, 404 or 422.", verbose_name="fall back on client errors")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated")),
            ],
            options={"verbose_name": "route", "verbose_name_plural": "routes", "ordering": ["name"]},
        ),
        migrations.CreateModel(
            name="RouteTarget",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("model", models.CharField(blank=True, help_text="The upstream model id. Empty: the provider's default model.", max_length=200, verbose_name="model")),
                ("priority", models.PositiveSmallIntegerField(default=0, help_text="Lower first; the next priority serves only when none of a better one can.", verbose_name="priority")),
                ("weight", models.PositiveIntegerField(default=1, help_text="Share of the traffic among healthy targets of the same priority.", verbose_name="weight")),
                ("provider", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="route_targets", to="providers.provider", verbose_name="provider")),
                ("route", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="targets", to="providers.route", verbose_name="route")),
            ],
            options={"verbose_name": "route target", "verbose_name_plural": "route targets", "ordering": ["priority", "id"]},
        ),
        migrations.AddConstraint(
            model_name="routetarget",
            constraint=models.UniqueConstraint(fields=("route", "provider", "model"), name="route_target_unique"),
        ),
    ]
