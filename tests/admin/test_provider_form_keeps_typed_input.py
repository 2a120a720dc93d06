"""A provider form that comes back with errors keeps what was typed, except secrets:
the header names stay (their values are blanked), the key input is empty, and the page
says plainly that those secrets must be typed again. A form resubmitted with the
blanked values is refused rather than saving empty headers."""
from __future__ import annotations

import html
import re

import pytest

from providers.models import Provider

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/providers/provider/add/"
TYPED_KEY = "sk-typed-key-value-8K1m"
TYPED_HEADER = "typed-header-value-Q7w2"


def add_data(**overrides: str) -> dict[str, str]:
    data = {
        "name": "kept-name", "provider_type": "custom", "base_url": "not a url", "enabled": "on",
        "display_name_en": "Kept display", "display_name_vi": "Tên giữ lại", "display_name_zh_hans": "保留的名字",
        "new_api_key": TYPED_KEY,
        "new_extra_headers": f'{{"X-Tenant": "{TYPED_HEADER}", "X-Team": "t-{TYPED_HEADER}"}}',
        "settings": '{"read_timeout": 45}',
    }
    data.update(overrides)
    return data


def textarea(page: str, name: str) -> str:
    m = re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    assert m, name
    return html.unescape(m.group(1)).strip()


def input_value(page: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
    m = re.search(r'value="([^"]*)"', tag)
    return html.unescape(m.group(1)) if m else None


def retype_notice(page: str, name: str) -> str | None:
    m = re.search(rf'id="id_{name}_helptext">\s*<div><strong class="retype-secret">(.*?)</strong>', page, re.S)
    return html.unescape(m.group(1)) if m else None


def test_refused_form_keeps_typed_fields_and_header_names_not_secrets(admin_client):
    response = admin_client.post(ADD_URL, add_data())
    assert response.status_code == 200
    page = response.content.decode()
    assert TYPED_KEY not in page and TYPED_HEADER not in page
    assert input_value(page, "name") == "kept-name"
    assert input_value(page, "display_name_vi") == "Tên giữ lại"
    assert input_value(page, "display_name_zh_hans") == "保留的名字"
    assert textarea(page, "settings") == '{"read_timeout": 45}'
    assert textarea(page, "new_extra_headers") == '{"X-Tenant": "", "X-Team": ""}'
    assert input_value(page, "new_api_key") is None
    # Said plainly beside each secret input (in the field's help, not as an error of its own).
    assert retype_notice(page, "new_api_key") == (
        "The API key you typed is not shown again (it is a secret): type it again before saving.")
    assert retype_notice(page, "new_extra_headers") == (
        "The header values you typed are not shown again (they are secrets): the names are kept, "
        "type the values again before saving.")
    assert retype_notice(page, "settings") is None  # no secret map was typed
    assert not Provider.objects.exists()


def test_the_notice_shows_when_a_field_check_refused_the_form(admin_client):
    # A field's own check (here the length) runs before the form's: the notice still shows.
    page = admin_client.post(ADD_URL, add_data(base_url="http://127.0.0.1:9/v1/" + "a" * 600)).content.decode()
    assert retype_notice(page, "new_api_key") == (
        "The API key you typed is not shown again (it is a secret): type it again before saving.")


def test_resubmitting_the_blanked_header_values_is_refused(admin_client):
    response = admin_client.post(ADD_URL, add_data(
        base_url="http://127.0.0.1:9/v1", new_api_key="",
        new_extra_headers='{"X-Tenant": "", "X-Team": ""}'))
    assert response.status_code == 200
    assert "Type the value of these headers again: X-Team, X-Tenant." in response.context["adminform"].form.errors[
        "new_extra_headers"]
    assert not Provider.objects.exists()
    # Typed again, the form saves.
    response = admin_client.post(ADD_URL, add_data(base_url="http://127.0.0.1:9/v1",
                                                   new_extra_headers='{"X-Tenant": "v1"}'))
    assert response.status_code == 302
    assert Provider.objects.get().extra_headers == {"X-Tenant": "v1"}


def test_invalid_json_names_the_line_and_column(admin_client):
    response = admin_client.post(ADD_URL, add_data(
        base_url="http://127.0.0.1:9/v1", new_api_key="", new_extra_headers="",
        settings='{\n  "read_timeout": 30,\n}'))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["settings"][0] == (
        "Enter valid JSON: line 3, column 1: Expecting property name enclosed in double quotes.")
    # What was typed is shown back, to be corrected rather than retyped.
    assert textarea(response.content.decode(), "settings") == '{\n  "read_timeout": 30,\n}'


def test_invalid_headers_json_names_the_position_and_shows_nothing_back(admin_client):
    response = admin_client.post(ADD_URL, add_data(
        base_url="http://127.0.0.1:9/v1", new_api_key="", new_extra_headers=f'{{"X-Tenant": "{TYPED_HEADER}"'))
    errors = response.context["adminform"].form.errors
    assert errors["new_extra_headers"][0].startswith("Enter valid JSON: line 1, column 39: ")
    page = response.content.decode()
    assert TYPED_HEADER not in page and textarea(page, "new_extra_headers") == ""


def test_unparseable_settings_naming_a_secret_map_are_not_shown_back(admin_client):
    response = admin_client.post(ADD_URL, add_data(
        base_url="http://127.0.0.1:9/v1", new_api_key="", new_extra_headers="",
        settings=f'{{"env": {{"TOKEN": "{TYPED_HEADER}"}}'))
    page = response.content.decode()
    assert "Enter valid JSON: line 1" in page
    assert TYPED_HEADER not in page and textarea(page, "settings") == ""
    assert retype_notice(page, "settings") == (
        "The values of extra_query and env you typed are not shown again (they are secrets): "
        "type them again before saving.")
