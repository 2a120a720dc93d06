"""A value longer than its column is refused with a field error, never cut: through the
admin (whose inputs carry no maxlength, since browsers cut pasted text to it without a
word), the REST API, the import file and the service itself."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from rest_framework.authtoken.models import Token

from providers import services
from providers.models import Provider
from providers.onboarding import config_io

pytestmark = pytest.mark.django_db

LONG_URL = "http://127.0.0.1:9/v1/" + "a" * 578  # 600 characters; the column holds 500
MESSAGE = "Ensure this value has at most 500 characters (it has 600)."


def test_the_service_refuses_a_long_base_url_and_display_name():
    assert len(LONG_URL) == 600
    with pytest.raises(ValidationError) as info:
        services.provider_create(name="long", provider_type="custom", base_url=LONG_URL,
                                 display_names={"vi": "x" * 201})
    assert info.value.message_dict == {
        "base_url": [MESSAGE],
        "display_name_vi": ["Ensure this value has at most 200 characters (it has 201)."],
    }
    provider = services.provider_create(name="short", provider_type="custom", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ValidationError):
        services.provider_update(provider=provider, base_url=LONG_URL)
    provider.refresh_from_db()
    assert provider.base_url == "http://127.0.0.1:9/v1"


def test_the_admin_refuses_a_long_base_url_and_its_input_does_not_cut_it(admin_client):
    page = admin_client.get("/admin/providers/provider/add/").content.decode()
    for name in ("name", "base_url", "display_name_en", "new_api_key"):
        tag = page.split(f'name="{name}"')[1].split(">")[0]
        assert "maxlength" not in tag, name
    response = admin_client.post("/admin/providers/provider/add/", {
        "name": "long", "provider_type": "custom", "base_url": LONG_URL, "enabled": "on",
        "new_api_key": "", "new_extra_headers": "", "settings": "{}",
    })
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["base_url"] == [MESSAGE]
    assert not Provider.objects.exists()


def test_the_api_refuses_a_long_base_url(admin_user, client):
    token = Token.objects.create(user=admin_user)
    response = client.post("/api/providers/", {"name": "long", "provider_type": "custom", "base_url": LONG_URL},
                           content_type="application/json", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 400
    assert list(response.json()) == ["base_url"]
    assert not Provider.objects.exists()


def test_the_import_refuses_a_long_base_url(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text(f"providers:\n  - name: long\n    type: custom\n    base_url: {LONG_URL}\n")
    with pytest.raises(config_io.ConfigError) as info:
        config_io.import_file(str(path))
    assert info.value.problems == [("providers[0] “long”", "base_url", MESSAGE)]
    assert not Provider.objects.exists()
