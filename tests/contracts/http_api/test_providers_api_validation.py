"""Every validation error of /api/providers/ as DRF field errors, in the language of
Accept-Language: English, Vietnamese and Chinese (``zh`` resolves to zh-hans)."""
from __future__ import annotations

import json

import pytest
from django.utils import translation
from django.utils.translation import gettext

from providers import catalog, services
from providers.catalog import ProviderType

pytestmark = pytest.mark.django_db

# Accept-Language sent -> Django language whose catalog must answer.
LANGUAGES = [("en", "en"), ("vi", "vi"), ("zh", "zh-hans")]
VALID_TYPES = ", ".join(catalog.type_keys())


def expected(language: str, msgid: str, **params: str) -> str:
    with translation.override(language):
        text = gettext(msgid)
    if language != "en":
        assert text != msgid, f"“{msgid}” has no {language} translation"
    return text % params if params else text


def post(client, accept_language: str, payload: dict):
    return client.post("/api/providers/", payload, content_type="application/json",
                       HTTP_ACCEPT_LANGUAGE=accept_language)


def custom(**overrides):
    payload = {"name": "local", "provider_type": "custom", "base_url": "http://127.0.0.1:8001/v1"}
    payload.update(overrides)
    return payload


@pytest.mark.parametrize(("accept", "language"), LANGUAGES)
def test_unknown_provider_type_lists_the_valid_ones(admin_client, accept, language):
    response = post(admin_client, accept, custom(provider_type="mystery"))
    assert response.status_code == 400
    message = expected(language, "Unknown provider type “%(value)s”. Valid types: %(valid)s.",
                       value="mystery", valid=VALID_TYPES)
    assert response.json() == {"provider_type": [message]}
    for key in catalog.type_keys():
        assert key in message
    assert response["Content-Language"] == language


@pytest.mark.parametrize(("accept", "language"), LANGUAGES)
def test_base_url_is_required_for_custom(admin_client, accept, language):
    response = post(admin_client, accept, custom(base_url=""))
    assert response.status_code == 400
    assert response.json() == {"base_url": [expected(language, "This provider type needs a base URL.")]}
    response = post(admin_client, accept, {"name": "local", "provider_type": "custom"})
    assert response.json() == {"base_url": [expected(language, "This provider type needs a base URL.")]}


@pytest.mark.parametrize(("accept", "language"), LANGUAGES)
@pytest.mark.parametrize("url", ["127.0.0.1:8001/v1", "ftp://files.example/v1", "/v1", "http://"])
def test_base_url_must_be_absolute_http(admin_client, accept, language, url):
    response = post(admin_client, accept, custom(base_url=url))
    assert response.status_code == 400
    assert response.json() == {"base_url": [expected(language, "Enter an absolute http:// or https:// URL.")]}


@pytest.mark.parametrize(("accept", "language"), LANGUAGES)
def test_duplicate_name_is_refused(admin_client, accept, language):
    services.provider_create(name="local", provider_type="custom", base_url="http://127.0.0.1:9/v1")
    response = post(admin_client, accept, custom())
    assert response.status_code == 400
    assert response.json() == {"name": [expected(language, "A provider with this name already exists.")]}


@pytest.mark.parametrize(("accept", "language"), LANGUAGES)
@pytest.mark.parametrize("name", ["bad/name", "with space", "ünïcode", "a.b"])
def test_malformed_name_is_refused(admin_client, accept, language, name):
    response = post(admin_client, accept, custom(name=name))
    assert response.status_code == 400
    assert response.json() == {
        "name": [expected(language, "Use only letters, digits, hyphens and underscores (no slash or spaces).")]
    }


@pytest.mark.parametrize(("accept", "language"), LANGUAGES)
def test_settings_that_do_not_fit_the_type(admin_client, accept, language):
    response = post(admin_client, accept, custom(settings={"read_timeout": -1, "verify_tls": "yes"}))
    assert response.status_code == 400
    assert response.json() == {"settings": [
        "read_timeout: " + expected(language, "Must be a positive number."),
        "verify_tls: " + expected(language, "Must be true or false."),
    ]}
    # A subprocess setting on an HTTP type: unknown, and the message names the valid ones.
    response = post(admin_client, accept, custom(settings={"command": "claude"}))
    [message] = response.json()["settings"]
    with translation.override(language):
        from providers.provider_settings import checkers_for
        valid = ", ".join(sorted(checkers_for(catalog.get_type("custom"))))
    assert message == "command: " + expected(
        language, "Unknown setting for the type “%(type)s”. Valid settings: %(valid)s.", type="custom", valid=valid)
    response = post(admin_client, accept, custom(settings=["read_timeout"]))
    assert response.json() == {"settings": [expected(language, "Settings must be a JSON object.")]}


@pytest.mark.parametrize(("accept", "language"), LANGUAGES)
def test_a_key_where_the_type_takes_none(admin_client, monkeypatch, accept, language):
    # No shipped type refuses keys today; a catalog row that does must be enforced.
    keyless = ProviderType(
        key="keyless", label="Keyless", description="A type that takes no key.",
        adapter="providers.adapters.openai_compat.OpenAICompatAdapter", accepts_api_key=False,
    )
    monkeypatch.setitem(catalog.PROVIDER_TYPES, "keyless", keyless)
    response = post(admin_client, accept, custom(provider_type="keyless", api_key="sk-not-wanted-1234"))
    assert response.status_code == 400
    assert response.json() == {"api_key": [expected(language, "This provider type takes no API key.")]}
    assert b"sk-not-wanted-1234" not in response.content


@pytest.mark.parametrize(("accept", "language"), LANGUAGES)
def test_a_type_that_needs_a_key_gets_one(admin_client, accept, language):
    response = post(admin_client, accept, {"name": "oa", "provider_type": "openai"})
    assert response.status_code == 400
    assert response.json() == {"api_key": [expected(language, "This provider type needs an API key.")]}


@pytest.mark.parametrize(("accept", "language"), LANGUAGES)
def test_several_errors_come_back_together(admin_client, accept, language):
    response = post(admin_client, accept, {"name": "bad name", "provider_type": "custom", "base_url": "nope"})
    assert response.status_code == 400
    assert set(response.json()) == {"name", "base_url"}


@pytest.mark.parametrize(("accept", "language"), LANGUAGES)
def test_updates_are_validated_the_same_way(admin_client, accept, language):
    provider = services.provider_create(name="local", provider_type="custom", base_url="http://127.0.0.1:9/v1")
    services.provider_create(name="other", provider_type="custom", base_url="http://127.0.0.1:9/v1")
    response = admin_client.patch(f"/api/providers/{provider.pk}/", {"name": "other", "base_url": ""},
                                  content_type="application/json", HTTP_ACCEPT_LANGUAGE=accept)
    assert response.status_code == 400
    assert response.json() == {
        "name": [expected(language, "A provider with this name already exists.")],
        "base_url": [expected(language, "This provider type needs a base URL.")],
    }


@pytest.mark.parametrize(("accept", "language"), LANGUAGES)
def test_serializer_level_errors_are_localized_too(admin_client, accept, language):
    response = post(admin_client, accept, {"provider_type": "custom", "enabled": "perhaps"})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"name", "enabled"}
    with translation.override(language):
        assert body["name"] == [gettext("This field is required.")]
    if language != "en":
        assert body["name"] != ["This field is required."]


@pytest.mark.parametrize("url", ["http://[::1/v1", "http://127.0.0.1:99999/v1", "http://ex\ud800ample/v1"])
def test_unparseable_base_urls_are_field_errors_not_crashes(admin_client, url):
    response = admin_client.post("/api/providers/", json.dumps(custom(base_url=url)), content_type="application/json")
    assert response.status_code == 400
    [message] = response.json()["base_url"]
    # DRF itself refuses the lone surrogate; the service refuses the rest.
    assert message in {"Enter an absolute http:// or https:// URL.", "Surrogate characters are not allowed: U+D800."}


@pytest.mark.parametrize("value", ["a\x00b", "\ud800"])
@pytest.mark.parametrize("where", ["settings", "extra_headers"])
def test_text_that_cannot_be_stored_is_refused(admin_client, where, value):
    payload = custom(settings={"default_model": value}) if where == "settings" else custom(
        extra_headers={"X-A": "ok", "X-B": value})
    # Sent as escaped JSON, so lone surrogates reach the server as they would from any client.
    response = admin_client.post("/api/providers/", json.dumps(payload), content_type="application/json")
    assert response.status_code == 400
    if where == "settings":
        assert response.json() == {"settings": ["Text cannot contain NUL or unpaired surrogate characters."]}
    else:
        assert set(response.json()) == {"extra_headers"}


@pytest.mark.parametrize(("accept", "language"), LANGUAGES)
@pytest.mark.parametrize("headers", [{"Bad Name": "x"}, {"X-Ok": "line\r\nInjected: yes"}, {"X-Ok": 5}])
def test_headers_must_be_valid_http(admin_client, accept, language, headers):
    response = post(admin_client, accept, custom(extra_headers=headers))
    assert response.status_code == 400
    msgid = ("Must be an object mapping header names to string values." if headers == {"X-Ok": 5}
             else "Header names must be valid HTTP tokens and values cannot contain line breaks.")
    assert response.json() == {"extra_headers": [expected(language, msgid)]}
