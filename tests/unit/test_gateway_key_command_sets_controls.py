"""``manage.py gateway_key create|update`` set a key's expiry, model allowlist and
budgets through the same service checks as the admin and the API; ``list`` shows
them with the use against each budget."""
from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone

from providers import services
from providers.gateway_keys import hash_gateway_key
from providers.models import GatewayKey


@pytest.fixture(autouse=True)
def _clean_counters():
    cache.clear()
    yield
    cache.clear()


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("gateway_key", *args, stdout=out)
    return out.getvalue()


def test_create_with_expiry_models_and_budgets(db):
    run("create", "ci-bot", "--expires", "2099-03-04T05:06:07Z", "--allow-model", "vllm/*",
        "--allow-model", "chat-default", "--requests-per-day", "100", "--tokens-per-month", "5000000")
    key = GatewayKey.objects.get(name="ci-bot")
    assert key.expires_at == datetime(2099, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert key.allowed_models == ["vllm/*", "chat-default"]
    assert (key.requests_per_day, key.requests_per_month, key.tokens_per_day, key.tokens_per_month) == (
        100, None, None, 5_000_000)


def test_an_expiry_span_counts_from_now(db):
    run("create", "short", "--expires", "12h")
    key = GatewayKey.objects.get(name="short")
    assert abs((key.expires_at - timezone.now() - timedelta(hours=12)).total_seconds()) < 60


def test_update_changes_only_what_it_names(db):
    services.provider_create(name="alpha", provider_type="custom", base_url="http://127.0.0.1:9/v1")
    key, raw = services.gateway_key_create(name="team", allowed_models=["a/*"], requests_per_day=5,
                                           rate_limit_rpm=30)
    out = run("update", "team", "--tokens-per-day", "900", "--requests-per-day", "none", "--provider", "alpha")
    assert "team" in out
    key.refresh_from_db()
    assert key.tokens_per_day == 900 and key.requests_per_day is None
    assert key.allowed_models == ["a/*"] and key.rate_limit_rpm == 30  # left out: kept
    assert [p.name for p in key.providers.all()] == ["alpha"] and not key.all_providers
    run("update", "team", "--all-models", "--expires", "never", "--all-providers")
    key.refresh_from_db()
    assert key.allowed_models == [] and key.expires_at is None and key.all_providers
    assert key.key_hash == hash_gateway_key(raw)


@pytest.mark.parametrize(
    "args",
    [("create", "x", "--expires", "tomorrow-ish"), ("create", "x", "--expires", "2001-01-01"),
     ("create", "x", "--requests-per-day", "0"), ("create", "x", "--tokens-per-day", "lots"),
     ("create", "x", "--allow-model", "has space"), ("update", "nobody", "--requests-per-day", "3")],
)
def test_bad_values_are_command_errors(db, args):
    with pytest.raises(CommandError):
        run(*args)
    assert not GatewayKey.objects.filter(name="x").exists()


def test_a_revoked_key_cannot_be_updated(db):
    key, _raw = services.gateway_key_create(name="gone")
    services.gateway_key_revoke(key=key)
    with pytest.raises(CommandError, match="revoked"):
        run("update", "gone", "--requests-per-day", "3")


def test_list_shows_controls_and_budget_use(db):
    run("create", "team", "--allow-model", "vllm/*", "--requests-per-day", "10", "--expires", "2099-01-01")
    table = run("list")
    assert "vllm/*" in table and "req/d 0/10" in table and "2099-01-01" in table
    [row] = json.loads(run("list", "--json"))
    assert row["allowed_models"] == ["vllm/*"] and row["requests_per_day"] == 10
    assert row["usage"]["requests_per_day"]["used"] == 0 and row["usage"]["requests_per_day"]["limit"] == 10
