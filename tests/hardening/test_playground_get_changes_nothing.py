"""Opening the playground (a GET) changes nothing: it neither creates, rotates nor
restores a revoked playground key. The page asks for its key with a POST."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from providers import services
from providers.models import GatewayKey

PLAYGROUND = reverse("admin:providers_provider_playground")


def test_opening_the_playground_keeps_a_revoked_key_revoked(db):
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@example.com", "a-long-password-1"))
    assert client.get(PLAYGROUND).status_code == 200
    assert not GatewayKey.objects.exists()
    assert client.post(PLAYGROUND).json()["key"].startswith("gwk_")
    key = GatewayKey.objects.get()
    services.gateway_key_revoke(key=key)
    revoked = GatewayKey.objects.values_list("revoked_at", "key_hash", "prefix").get()
    for query in ("", "?provider=anything"):
        page = client.get(PLAYGROUND + query)
        assert page.status_code == 200 and "gwk_" not in page.content.decode()
    assert GatewayKey.objects.values_list("revoked_at", "key_hash", "prefix").get() == revoked

