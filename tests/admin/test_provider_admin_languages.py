"""The provider admin in en, vi and zh-hans: the type dropdown shows the catalog labels in
the user's language, and choosing "Custom Provider" stores provider_type="custom"."""
from __future__ import annotations

import json
import re
from html import unescape

import pytest
from django.utils import translation

from providers import catalog
from providers.models import Provider

pytestmark = pytest.mark.django_db

CUSTOM_LABELS = [("en", "Custom Provider"), ("vi", "Nhà cung cấp tùy chỉnh"), ("zh-hans", "自定义提供商")]
ADD_URL = "/admin/providers/provider/add/"


def options(html: str) -> dict[str, str]:
    select = re.search(r'<select name="provider_type"[^>]*>(.*?)</select>', html, re.S).group(1)
    return {value: unescape(label).strip()
            for value, label in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)}


def form_data(**overrides: str) -> dict[str, str]:
    data = {
        "name": "lmstudio", "provider_type": "custom", "base_url": "http://127.0.0.1:1234/v1",
        "enabled": "on", "display_name_en": "", "display_name_vi": "", "display_name_zh_hans": "",
        "new_api_key": "", "new_extra_headers": "", "settings": "{}",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(("language", "label"), CUSTOM_LABELS)
def test_dropdown_shows_localized_custom_provider_and_saving_stores_custom(admin_client, language, label):
    admin_client.cookies["django_language"] = language
    page = admin_client.get(ADD_URL)
    assert page.status_code == 200
    assert f'<html lang="{language}"' in page.content.decode()
    assert "&lt;name&gt;/&lt;model&gt;" in page.content.decode()  # help text shown as written, not as tags
    choices = options(page.content.decode())
    assert choices["custom"] == label
    with translation.override(language):
        assert list(choices.items()) == [(key, str(row.label)) for key, row in catalog.PROVIDER_TYPES.items()]

    response = admin_client.post(ADD_URL, form_data(name=f"lm-{language}", display_name_vi="Máy cục bộ",
                                                    display_name_zh_hans="本地机器"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == "/admin/providers/provider/"
    provider = Provider.objects.get(name=f"lm-{language}")
    assert provider.provider_type == "custom"
    assert provider.base_url == "http://127.0.0.1:1234/v1"
    assert provider.display_name_vi == "Máy cục bộ" and provider.display_name_zh_hans == "本地机器"

    listing = admin_client.get("/admin/providers/provider/")
    html = listing.content.decode()
    assert f"lm-{language}" in html
    assert label in html  # the type column shows the localized label


@pytest.mark.parametrize(("accept", "language"), [("vi", "vi"), ("zh", "zh-hans"), ("zh-CN", "zh-hans")])
def test_browser_language_selects_the_admin_language(admin_client, accept, language):
    page = admin_client.get(ADD_URL, HTTP_ACCEPT_LANGUAGE=accept)
    assert f'<html lang="{language}"' in page.content.decode()
    with translation.override(language):
        assert options(page.content.decode())["custom"] == str(catalog.get_type("custom").label)


@pytest.mark.parametrize(("language", "message"), [
    ("en", "This provider type needs a base URL."),
    ("vi", "Loại nhà cung cấp này cần URL gốc."),
    ("zh-hans", "此提供商类型需要基础 URL。"),
])
def test_service_errors_show_on_the_form_field_in_the_users_language(admin_client, language, message):
    admin_client.cookies["django_language"] = language
    response = admin_client.post(ADD_URL, form_data(base_url=""))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors == {"base_url": [message]}
    assert not Provider.objects.exists()


def test_admin_and_api_refuse_the_same_things(admin_client):
    cases = [
        {"name": "bad name"},
        {"base_url": "ftp://x/v1"},
        {"settings": '{"read_timeout": 0}'},
        {"settings": '{"command": "claude"}'},
        {"provider_type": "openai", "base_url": ""},
        {"new_extra_headers": '{"X-A": 1}'},
    ]
    for overrides in cases:
        form = admin_client.post(ADD_URL, form_data(**overrides)).context["adminform"].form
        api_payload = {
            "name": overrides.get("name", "lmstudio"),
            "provider_type": overrides.get("provider_type", "custom"),
            "base_url": overrides.get("base_url", "http://127.0.0.1:1234/v1"),
        }
        if "settings" in overrides:
            api_payload["settings"] = json.loads(overrides["settings"])
        if "new_extra_headers" in overrides:
            api_payload["extra_headers"] = json.loads(overrides["new_extra_headers"])
        api = admin_client.post("/api/providers/", api_payload, content_type="application/json")
        api_errors = api.json() if api.status_code == 400 else {}
        form_errors = {{"new_api_key": "api_key", "new_extra_headers": "extra_headers"}.get(k, k): v
                       for k, v in form.errors.items()}
        assert form_errors == api_errors and form_errors, overrides
    assert not Provider.objects.exists()
