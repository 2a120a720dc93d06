"""A request refused for its key's controls leaves a request log row like any
other refusal, through both doors: an expired key (a client error, the key named),
a model outside the key's allowlist (a client error) and a spent budget (refused
by a limit, with the budget as its cause)."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from providers import services
from tests.requestlog.helpers import chat, one_row, rows


def test_an_expired_key_is_recorded(door):
    key, raw = services.gateway_key_create(name="old", expires_at=timezone.now() + timedelta(days=1))
    services.gateway_key_update(key=key, all_providers=True, providers=[],
                                expires_at=timezone.now() - timedelta(minutes=1))
    assert chat(door, raw, "local/text").status_code == 401
    row = one_row()
    assert (row.status, row.outcome, row.error_code, row.key_name) == (401, "client_error", "key_expired", "old")
    assert row.error_cause == "the gateway key expired"


def test_a_model_outside_the_allowlist_is_recorded(door):
    _key, raw = services.gateway_key_create(name="narrow", allowed_models=["local/text"])
    assert chat(door, raw, "local/tools").status_code == 404
    row = one_row()
    assert (row.status, row.outcome, row.error_code, row.key_name) == (404, "client_error", "model_not_found",
                                                                       "narrow")


def test_a_spent_budget_is_recorded_as_a_limit(door, limits_clock):
    limits_clock(1_800_000_030.0)
    _key, raw = services.gateway_key_create(name="budgeted", requests_per_day=1)
    assert chat(door, raw, "local/text").status_code == 200
    assert chat(door, raw, "local/text").status_code == 429
    refused = rows(1, status=429)[0]
    assert (refused.outcome, refused.error_code, refused.key_name) == ("limited", "quota_exceeded", "budgeted")
    assert refused.error_cause == "quota requests_per_day"
