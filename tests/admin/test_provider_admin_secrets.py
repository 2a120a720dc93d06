"""The provider admin never shows a stored secret: the key is a password input that keeps
the stored key when blank, headers show their names only, and secret POST fields are hidden
from error reports."""
from __future__ import annotations

import pytest
from django.test import override_settings
from django.views.debug import SafeExceptionReporterFilter

from providers import services
from providers.models import Provider

pytestmark = pytest.mark.django_db

KEY = "sk-admin-stored-secret-K2v9"
HEADER_VALUE = "hdr-secret-value-P4q8"


@pytest.fixture
def provider() -> Provider:
    return services.provider_create(
        name="local", provider_type="custom", base_url="http://127.0.0.1:9/v1",
        api_key=KEY, extra_headers={"X-Tenant": HEADER_VALUE}, settings={"read_timeout": 30},
    )


def change_data(**overrides: str) -> dict[str, str]:
    data = {
        "name": "local", "provider_type": "custom", "base_url": "http://127.0.0.1:9/v1", "enabled": "on",
        "display_name_en": "", "display_name_vi": "", "display_name_zh_hans": "",
        "new_api_key": "", "new_extra_headers": "", "settings": '{"read_timeout": 30}',
    }
    data.update(overrides)
    return data


def test_pages_show_key_status_and_header_names_never_values(admin_client, provider):
    change = admin_client.get(f"/admin/providers/provider/{provider.pk}/change/").content.decode()
    listing = admin_client.get("/admin/providers/provider/").content.decode()
    for html in (change, listing):
        assert KEY not in html and HEADER_VALUE not in html
    assert '<input type="password" name="new_api_key"' in change
    assert 'value="' not in change.split('name="new_api_key"')[1].split(">")[0]
    assert "X-Tenant" in change
    assert "“" + KEY[-4:] + "”" in change  # the hint, as on the API
    assert "“" + KEY[-4:] + "”" in listing


def test_blank_key_keeps_the_stored_key_and_headers(admin_client, provider):
    response = admin_client.post(f"/admin/providers/provider/{provider.pk}/change/",
                                 change_data(base_url="http://127.0.0.1:10/v1"))
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.base_url == "http://127.0.0.1:10/v1"
    assert provider.api_key == KEY and provider.extra_headers == {"X-Tenant": HEADER_VALUE}


def test_a_new_key_replaces_and_clear_removes(admin_client, provider):
    url = f"/admin/providers/provider/{provider.pk}/change/"
    assert admin_client.post(url, change_data(new_api_key="sk-new-key-7788")).status_code == 302
    provider.refresh_from_db()
    assert provider.api_key == "sk-new-key-7788" and provider.api_key_hint == "7788"
    assert admin_client.post(url, change_data(clear_api_key="on")).status_code == 302
    provider.refresh_from_db()
    assert provider.api_key is None and provider.api_key_hint == ""
    assert admin_client.post(url, change_data(new_extra_headers="{}")).status_code == 302
    provider.refresh_from_db()
    assert provider.extra_headers is None


def test_a_refused_form_does_not_echo_secrets(admin_client, provider):
    response = admin_client.post(
        f"/admin/providers/provider/{provider.pk}/change/",
        change_data(base_url="not a url", new_api_key="sk-typed-in-secret-1111",
                    new_extra_headers='{"X-New": "typed-header-secret"}'),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "sk-typed-in-secret-1111" not in html and "typed-header-secret" not in html
    assert KEY not in html and HEADER_VALUE not in html
    provider.refresh_from_db()
    assert provider.api_key == KEY


def test_secret_post_fields_are_hidden_from_error_reports(admin_client, provider):
    response = admin_client.post(f"/admin/providers/provider/{provider.pk}/change/",
                                 change_data(new_api_key="sk-report-secret-2222"))
    request = response.wsgi_request
    assert set(request.sensitive_post_parameters) == {"new_api_key", "new_extra_headers", "settings"}
    cleaned = SafeExceptionReporterFilter().get_post_parameters(request)
    assert cleaned["new_api_key"] != "sk-report-secret-2222"
    assert set(cleaned["new_api_key"]) == {"*"}


def test_list_filters_by_type_and_enabled_and_searches_by_name(admin_client, provider):
    services.provider_create(name="hosted", provider_type="openai", api_key="sk-other-3333", enabled=False)
    def names(query: str) -> set[str]:
        response = admin_client.get(f"/admin/providers/provider/?{query}")
        return {obj.name for obj in response.context["cl"].result_list}
    assert names("") == {"local", "hosted"}
    assert names("provider_type__exact=custom") == {"local"}
    assert names("enabled__exact=0") == {"hosted"}
    assert names("q=hos") == {"hosted"}
    # Secrets are not searchable.
    assert names(f"q={KEY}") == set()


def test_delete_goes_through_the_service(admin_client, provider):
    response = admin_client.post(f"/admin/providers/provider/{provider.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Provider.objects.exists()


def test_the_list_decrypts_nothing(admin_client, provider):
    # Under a different encryption key every stored secret is unreadable; the list still works
    # because it shows the key status from the hint alone.
    with override_settings(GATEWAY_ENCRYPTION_KEY="some-other-key", GATEWAY_ENCRYPTION_OLD_KEYS=[]):
        response = admin_client.get("/admin/providers/provider/")
    assert response.status_code == 200
    assert "“" + KEY[-4:] + "”" in response.content.decode()


def test_history_names_the_changed_fields_not_their_values(admin_client, provider):
    url = f"/admin/providers/provider/{provider.pk}/change/"
    assert admin_client.post(url, change_data(new_api_key="sk-history-secret-5150")).status_code == 302
    history = admin_client.get(f"/admin/providers/provider/{provider.pk}/history/").content.decode()
    assert "API key" in history
    assert "sk-history-secret-5150" not in history and KEY not in history
