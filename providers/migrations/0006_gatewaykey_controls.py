"""A gateway key's expiry, model allowlist and request/token budgets per UTC day and month
(all empty by default: existing keys keep working as before)."""
from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('providers', '0005_routes'),
    ]

    operations = [
        migrations.AddField(
            model_name='gatewaykey',
            name='allowed_models',
            field=models.JSONField(blank=True, default=list, help_text='Model ids or patterns with * (vllm/*, chat-default, openrouter/anthropic/*), one per line. Empty: every model of the allowed providers.', verbose_name='allowed models'),
        ),
        migrations.AddField(
            model_name='gatewaykey',
            name='expires_at',
            field=models.DateTimeField(blank=True, help_text='Empty: never. From this time on the key is refused (401, code key_expired).', null=True, verbose_name='expires'),
        ),
        migrations.AddField(
            model_name='gatewaykey',
            name='requests_per_day',
            field=models.PositiveBigIntegerField(blank=True, help_text='Empty: unlimited. The day is the UTC day.', null=True, verbose_name='requests per day'),
        ),
        migrations.AddField(
            model_name='gatewaykey',
            name='requests_per_month',
            field=models.PositiveBigIntegerField(blank=True, help_text='Empty: unlimited. The month is the UTC month.', null=True, verbose_name='requests per month'),
        ),
        migrations.AddField(
            model_name='gatewaykey',
            name='tokens_per_day',
            field=models.PositiveBigIntegerField(blank=True, help_text='Empty: unlimited. The day is the UTC day.', null=True, verbose_name='tokens per day'),
        ),
        migrations.AddField(
            model_name='gatewaykey',
            name='tokens_per_month',
            field=models.PositiveBigIntegerField(blank=True, help_text='Empty: unlimited. The month is the UTC month.', null=True, verbose_name='tokens per month'),
        ),
    ]
