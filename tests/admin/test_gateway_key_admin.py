"""Gateway keys in the admin: the raw key is shown once after creation, never its hash;
the list shows prefix, last use and revocation; a bulk action revokes."""
from __future__ import annotations

import re

import pytest

from providers import services
from providers.gateway_keys import hash_gateway_key
from providers.models import GatewayKey

pytestmark = pytest.mark.django_db


def test_create_shows_the_key_once(admin_client):
    provider = services.provider_create(name="local", provider_type="custom", base_url="http://127.0.0.1:9/v1")
    admin_client.cookies["django_language"] = "vi"
    response = admin_client.post("/admin/providers/gatewaykey/add/", {
        "name": "team-a", "providers": [provider.pk], "rate_limit_rpm": "60", "rate_limit_tpm": "",
    })
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    [raw] = set(re.findall(r"gwk_[A-Za-z0-9_\-]{20,}", html))
    assert "Hãy sao chép ngay" in html
    key = GatewayKey.objects.get(name="team-a")
    assert key.key_hash == hash_gateway_key(raw)
    assert list(key.providers.all()) == [provider] and key.rate_limit_rpm == 60
    assert raw not in response.cookies.output()

    for url in ("/admin/providers/gatewaykey/", f"/admin/providers/gatewaykey/{key.pk}/change/"):
        page = admin_client.get(url).content.decode()
        assert raw not in page and key.key_hash not in page
        assert key.prefix in page


def test_duplicate_name_is_a_form_error(admin_client):
    services.gateway_key_create(name="team-a")
    response = admin_client.post("/admin/providers/gatewaykey/add/", {"name": "team-a"})
    assert response.status_code == 200
    assert "name" in response.context["adminform"].form.errors
    assert GatewayKey.objects.count() == 1


def test_revoke_action(admin_client):
    key, _raw = services.gateway_key_create(name="team-a")
    other, _raw = services.gateway_key_create(name="team-b")
    response = admin_client.post("/admin/providers/gatewaykey/", {
        "action": "revoke_keys", "_selected_action": [key.pk],
    }, follow=True)
    assert response.status_code == 200
    assert "1 gateway key revoked." in response.content.decode()
    key.refresh_from_db()
    other.refresh_from_db()
    assert key.revoked_at is not None and other.revoked_at is None
    listing = admin_client.get("/admin/providers/gatewaykey/?status=revoked")
    assert [k.name for k in listing.context["cl"].result_list] == ["team-a"]


def test_change_edits_scope_and_limits_not_the_secret(admin_client):
    key, raw = services.gateway_key_create(name="team-a")
    provider = services.provider_create(name="local", provider_type="custom", base_url="http://127.0.0.1:9/v1")
    response = admin_client.post(f"/admin/providers/gatewaykey/{key.pk}/change/", {
        "providers": [provider.pk], "rate_limit_rpm": "5", "rate_limit_tpm": "1000",
    })
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.rate_limit_rpm == 5 and key.rate_limit_tpm == 1000 and key.name == "team-a"
    assert list(key.providers.all()) == [provider]
    assert key.key_hash == hash_gateway_key(raw)
