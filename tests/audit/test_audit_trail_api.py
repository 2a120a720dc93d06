"""Changes made through the REST API (a staff user's bearer token) appear in the History
with that user; the names of changed secret maps are listed, never their values."""
from __future__ import annotations

import io
import re

import pytest
from django.contrib.admin.models import CHANGE
from django.core.management import call_command

from providers.models import GatewayKey, Provider
from tests.audit.helpers import history, staff

pytestmark = pytest.mark.django_db

SECRET = "sk-audit-api-secret-W8e3"


@pytest.fixture
def token(django_user_model) -> str:
    staff(django_user_model, "robot", "view_provider", "add_provider", "change_provider",
          "view_gatewaykey", "add_gatewaykey", "change_gatewaykey")
    out = io.StringIO()
    call_command("drf_create_token", "robot", stdout=out)
    return "Bearer " + re.search(r"Generated token (\w+)", out.getvalue()).group(1)


def test_provider_create_and_update_through_the_api(client, token):
    created = client.post("/api/providers/", {"name": "api-made", "provider_type": "custom",
                                              "base_url": "http://127.0.0.1:9/v1", "api_key": SECRET},
                          content_type="application/json", HTTP_AUTHORIZATION=token)
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    changed = client.patch(f"/api/providers/{pk}/", {"extra_headers": {"X-Org": "org-value-Y6"},
                                                     "settings": {"extra_query": {"token": "env-value-U5"}}},
                           content_type="application/json", HTTP_AUTHORIZATION=token)
    assert changed.status_code == 200, changed.content

    entries = history(Provider.objects.get(pk=pk))
    assert [(e["who"], e["door"]) for e in entries] == [("robot", "REST API"), ("robot", "REST API")]
    assert entries[1]["flag"] == CHANGE
    assert entries[1]["message"] == ("Changed extra HTTP headers (X-Org; values not shown) "
                                     "and secret settings (extra_query.token; values not shown).")
    raw = " ".join(e["raw"] for e in entries)
    assert SECRET not in raw and "org-value-Y6" not in raw and "env-value-U5" not in raw


def test_gateway_key_revoke_through_the_api(client, token):
    made = client.post("/api/gateway-keys/", {"name": "api-key", "all_providers": True},
                       content_type="application/json", HTTP_AUTHORIZATION=token)
    assert made.status_code == 201, made.content
    key = GatewayKey.objects.get(name="api-key")
    assert client.post(f"/api/gateway-keys/{key.pk}/revoke/", HTTP_AUTHORIZATION=token).status_code == 200
    assert [(e["who"], e["door"], e["message"]) for e in history(key)] == [
        ("robot", "REST API", "Added."), ("robot", "REST API", "Changed revoked.")]


def test_a_refused_api_write_leaves_no_entry(client, django_user_model):
    staff(django_user_model, "reader", "view_provider")
    out = io.StringIO()
    call_command("drf_create_token", "reader", stdout=out)
    token = "Bearer " + re.search(r"Generated token (\w+)", out.getvalue()).group(1)
    refused = client.post("/api/providers/", {"name": "nope", "provider_type": "custom",
                                              "base_url": "http://127.0.0.1:9/v1"},
                          content_type="application/json", HTTP_AUTHORIZATION=token)
    assert refused.status_code == 403
    from django.contrib.admin.models import LogEntry
    assert not LogEntry.objects.exists()
