"""Changes made in the admin appear in the object's History with the staff user, the fields
that changed and, for secrets, only that they changed; a staff user without the permission
changes nothing and leaves no entry."""
from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, CHANGE

from providers import services
from providers.models import GatewayKey, Provider
from tests.audit.helpers import history, staff

pytestmark = pytest.mark.django_db

KEY = "sk-audit-admin-secret-Q7w1"
NEW_KEY = "sk-audit-admin-rotated-Z3x5"
HEADER_VALUE = "hdr-audit-secret-M2n4"


@pytest.fixture
def provider() -> Provider:
    return services.provider_create(name="local", provider_type="custom", base_url="http://127.0.0.1:9/v1",
                                    api_key=KEY, extra_headers={"X-Tenant": HEADER_VALUE},
                                    settings={"read_timeout": 30})


def change_data(**overrides: str) -> dict[str, str]:
    data = {"name": "local", "provider_type": "custom", "base_url": "http://127.0.0.1:9/v1", "enabled": "on",
            "display_name_en": "", "display_name_vi": "", "display_name_zh_hans": "",
            "new_api_key": "", "new_extra_headers": "", "settings": '{"read_timeout": 30}'}
    return data | overrides


def test_a_change_by_a_staff_user_names_the_user_the_fields_and_hides_the_secret(client, django_user_model, provider):
    editor = staff(django_user_model, "editor", "view_provider", "change_provider")
    client.force_login(editor)
    response = client.post(f"/admin/providers/provider/{provider.pk}/change/", change_data(
        base_url="http://127.0.0.1:10/v1", new_api_key=NEW_KEY, settings='{"read_timeout": 45}'))
    assert response.status_code == 302

    last = history(provider)[-1]
    assert (last["who"], last["door"], last["flag"]) == ("editor", "admin", CHANGE)
    assert last["message"] == "Changed base URL, API key (value not shown) and settings (read_timeout)."
    for text in (KEY, NEW_KEY, "45", "http://127.0.0.1:10"):
        assert text not in last["raw"]

    page = client.get(f"/admin/providers/provider/{provider.pk}/history/").content.decode()
    assert "Changed base URL, API key (value not shown) and settings (read_timeout)." in page
    assert NEW_KEY not in page and KEY not in page and HEADER_VALUE not in page


def test_one_admin_save_is_one_entry(client, django_user_model, provider):
    before = len(history(provider))
    client.force_login(staff(django_user_model, "editor", "view_provider", "change_provider"))
    client.post(f"/admin/providers/provider/{provider.pk}/change/", change_data(enabled=""))
    assert len(history(provider)) == before + 1
    assert history(provider)[-1]["message"] == "Changed enabled."


def test_a_save_that_changes_nothing_leaves_no_entry(client, django_user_model, provider):
    before = len(history(provider))
    client.force_login(staff(django_user_model, "editor", "view_provider", "change_provider"))
    assert client.post(f"/admin/providers/provider/{provider.pk}/change/", change_data()).status_code == 302
    assert len(history(provider)) == before


def test_a_staff_user_without_change_permission_changes_nothing_and_leaves_no_entry(
    client, django_user_model, provider
):
    client.force_login(staff(django_user_model, "viewer", "view_provider"))
    before = history(provider)
    response = client.post(f"/admin/providers/provider/{provider.pk}/change/", change_data(base_url="http://x:1/v1"))
    assert response.status_code == 403
    assert history(provider) == before
    assert client.get(f"/admin/providers/provider/{provider.pk}/history/").status_code == 200  # view may read it


def test_gateway_key_add_scope_change_and_revoke_through_the_admin(client, django_user_model):
    services.provider_create(name="one", provider_type="custom", base_url="http://127.0.0.1:9/v1")
    two = services.provider_create(name="two", provider_type="custom", base_url="http://127.0.0.1:9/v1")
    client.force_login(staff(django_user_model, "keeper", "view_gatewaykey", "add_gatewaykey", "change_gatewaykey"))
    response = client.post("/admin/providers/gatewaykey/add/", {"name": "team-a", "all_providers": "on",
                                                                 "rate_limit_rpm": "", "rate_limit_tpm": ""})
    assert response.status_code == 200  # the page that shows the new secret once
    key = GatewayKey.objects.get(name="team-a")
    response = client.post(f"/admin/providers/gatewaykey/{key.pk}/change/", {
        "providers": [str(two.pk)], "rate_limit_rpm": "60", "rate_limit_tpm": ""})
    assert response.status_code == 302
    client.post("/admin/providers/gatewaykey/", {"action": "revoke_keys", "_selected_action": [str(key.pk)]})

    entries = history(key)
    assert [(e["who"], e["door"], e["flag"]) for e in entries] == [
        ("keeper", "admin", ADDITION), ("keeper", "admin", CHANGE), ("keeper", "admin", CHANGE)]
    assert entries[1]["message"] == "Changed all providers, requests per minute and allowed providers (+two)."
    assert entries[2]["message"] == "Changed revoked."
    assert key.key_hash not in " ".join(e["raw"] for e in entries)


def test_history_is_shown_in_the_users_language(client, django_user_model, provider):
    client.force_login(staff(django_user_model, "editor", "view_provider", "change_provider"))
    client.post(f"/admin/providers/provider/{provider.pk}/change/", change_data(new_api_key=NEW_KEY))
    page = client.get(f"/admin/providers/provider/{provider.pk}/history/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Đã thay đổi" in page and "Lịch sử thay đổi" in page and NEW_KEY not in page
