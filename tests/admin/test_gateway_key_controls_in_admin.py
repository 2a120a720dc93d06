"""The admin sets a key's expiry, model allowlist and budgets through the same
checks as every other door, shows the use against each budget (read from the
counters the gateway keeps), and refuses staff without the change permission."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from chat import limits
from providers import routing, services
from providers.gateway_keys import hash_gateway_key
from providers.models import GatewayKey

pytestmark = pytest.mark.django_db

ADD = "/admin/providers/gatewaykey/add/"


def change_url(key: GatewayKey) -> str:
    return f"/admin/providers/gatewaykey/{key.pk}/change/"


@pytest.fixture(autouse=True)
def _clean_counters():
    cache.clear()
    yield
    cache.clear()


def test_add_sets_expiry_allowlist_and_budgets(admin_client):
    when = timezone.now() + timedelta(days=30)
    response = admin_client.post(ADD, {
        "name": "team-a", "all_providers": "on",
        "expires_at_0": when.strftime("%Y-%m-%d"), "expires_at_1": when.strftime("%H:%M:%S"),
        "allowed_models": "vllm/*\nchat-default, openrouter/anthropic/*\n\nvllm/*",
        "requests_per_day": "100", "requests_per_month": "", "tokens_per_day": "", "tokens_per_month": "50000",
    })
    assert response.status_code == 200, response.context["adminform"].form.errors if response.context else ""
    key = GatewayKey.objects.get(name="team-a")
    assert key.allowed_models == ["vllm/*", "chat-default", "openrouter/anthropic/*"]
    assert (key.requests_per_day, key.requests_per_month, key.tokens_per_day, key.tokens_per_month) == (
        100, None, None, 50000)
    assert abs((key.expires_at - when).total_seconds()) < 1


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [("allowed_models", "vllm/ bad", "spaces"), ("allowed_models", "/vllm", "not a model id"),
     ("requests_per_day", "0", "whole number"), ("tokens_per_month", "-5", "")],
)
def test_bad_values_are_form_errors(admin_client, field, value, fragment):
    response = admin_client.post(ADD, {"name": "team-a", "all_providers": "on", field: value})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors and fragment in " ".join(errors[field])
    assert not GatewayKey.objects.exists()


def test_an_expiry_in_the_past_is_refused_on_create(admin_client):
    past = timezone.now() - timedelta(days=1)
    response = admin_client.post(ADD, {"name": "team-a", "all_providers": "on",
                                       "expires_at_0": past.strftime("%Y-%m-%d"), "expires_at_1": "00:00:00"})
    assert "expires_at" in response.context["adminform"].form.errors
    assert not GatewayKey.objects.exists()


def test_change_page_and_list_show_use_against_each_budget(admin_client):
    key, _raw = services.gateway_key_create(name="team-a", requests_per_day=10, tokens_per_month=1000)
    info = next(k for k in routing.load_snapshot().keys.values() if k.id == key.pk)
    for _ in range(3):
        reservation = asyncio.run(limits.admit(info, 40))
        asyncio.run(limits.settle(reservation, 25))  # the usage the upstream reported
    page = admin_client.get(change_url(key)).content.decode()
    assert "Requests today: 3 of 10" in page
    assert "Tokens this month: 75 of 1000" in page
    assert "Requests this month" not in page  # not set: not counted, not shown
    listing = admin_client.get("/admin/providers/gatewaykey/").content.decode()
    assert "req/d 3/10, tok/mo 75/1000" in listing  # short, so the list fits

    services.gateway_key_update(key=key, all_providers=True, providers=[],
                                expires_at=timezone.now() - timedelta(minutes=1))
    assert "Expired" in admin_client.get("/admin/providers/gatewaykey/").content.decode()


def test_change_keeps_the_secret_and_clears_what_is_emptied(admin_client):
    key, raw = services.gateway_key_create(name="team-a", allowed_models=["vllm/*"], requests_per_day=5)
    page = admin_client.get(change_url(key)).content.decode()
    assert "vllm/*" in page  # the allowlist is shown one pattern per line
    response = admin_client.post(change_url(key), {"all_providers": "on", "allowed_models": "",
                                                   "requests_per_day": "", "tokens_per_day": "7"})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.allowed_models == [] and key.requests_per_day is None and key.tokens_per_day == 7
    assert key.key_hash == hash_gateway_key(raw)


def _staff(*codenames: str) -> Client:
    user = get_user_model().objects.create_user("staff-keys", password="a-long-password-789", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="providers", codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def test_staff_without_change_permission_cannot_set_controls(db):
    key, _raw = services.gateway_key_create(name="team-a")
    client = _staff("view_gatewaykey")
    page = client.get(change_url(key))
    assert page.status_code == 200  # may look
    response = client.post(change_url(key), {"all_providers": "on", "allowed_models": "vllm/*",
                                             "requests_per_day": "1"})
    assert response.status_code == 403
    key.refresh_from_db()
    assert key.allowed_models == [] and key.requests_per_day is None
    assert _staff_add_refused()


def _staff_add_refused() -> bool:
    client = Client()
    client.force_login(get_user_model().objects.get(username="staff-keys"))
    response = client.post(ADD, {"name": "sneaky", "all_providers": "on", "requests_per_day": "1"})
    return response.status_code == 403 and not GatewayKey.objects.filter(name="sneaky").exists()


def test_the_status_filter_tells_expired_keys_apart(admin_client):
    services.gateway_key_create(name="current")
    old, _raw = services.gateway_key_create(name="old")
    services.gateway_key_update(key=old, all_providers=True, providers=[],
                                expires_at=timezone.now() - timedelta(minutes=1))
    gone, _raw = services.gateway_key_create(name="gone")
    services.gateway_key_revoke(key=gone)
    for status, names in (("active", ["current"]), ("expired", ["old"]), ("revoked", ["gone"])):
        listing = admin_client.get(f"/admin/providers/gatewaykey/?status={status}")
        assert [k.name for k in listing.context["cl"].result_list] == names
