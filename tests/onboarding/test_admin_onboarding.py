"""The onboarding pages of the provider admin, through Django's test client:
buttons on the change page, test connection (and its base-URL fix), the bulk
action, the capability probe with "apply findings", fetch models, the playground."""
from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from providers import services
from providers.gateway_keys import hash_gateway_key
from providers.models import GatewayKey, Provider
from tests.conftest import free_port

SECRET = "sk-admin-secret-NEVERSHOWN"


@pytest.fixture
def admin_client(db) -> Client:
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-12345-long")
    client = Client()
    client.force_login(user)
    return client


def url(name: str, *args) -> str:
    return reverse(f"admin:providers_provider_{name}", args=args)


def test_the_change_page_has_the_onboarding_buttons(admin_client, upstream):
    provider = services.provider_create(name="up", provider_type="custom", base_url=upstream.base_url)
    page = admin_client.get(url("change", provider.pk)).content.decode()
    for name in ("test_connection", "probe", "fetch_models"):
        assert f'href="{url(name, provider.pk)}"' in page
    assert f'href="{url("playground")}?provider=up"' in page
    assert f'href="{url("playground")}"' in admin_client.get(url("changelist")).content.decode()


def test_test_connection_page(admin_client, upstream):
    provider = services.provider_create(name="up", provider_type="custom", base_url=upstream.base_url, api_key=SECRET)
    response = admin_client.get(url("test_connection", provider.pk))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-ok="true"' in page
    assert re.search(r"Reachable in \d+ ms; the backend reports 3 models\.", page)
    assert SECRET not in page


def test_test_connection_offers_the_working_base_url_and_applies_it(admin_client, upstream):
    root = f"http://127.0.0.1:{upstream.port}"
    provider = services.provider_create(name="up", provider_type="custom", base_url=f"{root}/v1/chat/completions")
    page = admin_client.get(url("test_connection", provider.pk)).content.decode()
    assert f"Use {root}/v1" in page
    signed = re.search(r'name="base_url" value="([^"]+)"', page).group(1)
    response = admin_client.post(url("test_connection", provider.pk), {"base_url": signed})
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.base_url == f"{root}/v1"
    # A forged value is refused.
    admin_client.post(url("test_connection", provider.pk), {"base_url": "http://evil.example/v1"})
    provider.refresh_from_db()
    assert provider.base_url == f"{root}/v1"


def test_the_bulk_action_reports_each_provider(admin_client, upstream):
    alive = services.provider_create(name="alive", provider_type="custom", base_url=upstream.base_url)
    dead = services.provider_create(name="dead", provider_type="custom", base_url=f"http://127.0.0.1:{free_port()}/v1")
    response = admin_client.post(url("changelist"), {
        "action": "test_connection_action", "_selected_action": [alive.pk, dead.pk],
    }, follow=True)
    texts = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert ("success", texts[0][1]) == texts[0] and texts[0][1].startswith("“alive”: Reachable in ")
    assert texts[1][0] == "error" and texts[1][1].startswith("“dead”: Connection refused")


def test_the_probe_page_applies_its_findings(admin_client, quirky):
    quirky.reject_stream_options = True
    provider = services.provider_create(name="q", provider_type="custom", base_url=quirky.base_url)
    page = admin_client.get(url("probe", provider.pk)).content.decode()
    assert page.count('class="probe-item"') == 6
    assert "The backend rejects stream_options (HTTP 400); drop it from requests." in page
    signed = re.search(r'name="suggestion" value="([^"]+)"', page).group(1)
    response = admin_client.post(url("probe", provider.pk), {"suggestion": signed})
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.settings == {"drop_params": ["stream_options"]}


def test_fetch_models_sets_the_allowlist_and_default(admin_client, quirky):
    provider = services.provider_create(name="q", provider_type="custom", base_url=quirky.base_url)
    page = admin_client.get(url("fetch_models", provider.pk)).content.decode()
    assert re.findall(r'class="model-row" data-model="([^"]+)"', page) == ["qwen3-8b", "slow-text", "llama-3.1-8b"]
    response = admin_client.post(url("fetch_models", provider.pk), {
        "allowed": ["qwen3-8b", "slow-text"], "default_model": "slow-text",
        "reported": ["qwen3-8b", "slow-text", "llama-3.1-8b"], "save_models": "1",
    })
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.settings == {
        "allowed_models": ["qwen3-8b", "slow-text"], "default_model": "slow-text",
        "models": ["qwen3-8b", "slow-text", "llama-3.1-8b"],
    }
    # A default outside the allowlist is refused by the service, and nothing changes.
    admin_client.post(url("fetch_models", provider.pk), {"allowed": ["qwen3-8b"], "default_model": "llama-3.1-8b"})
    provider.refresh_from_db()
    assert provider.settings["default_model"] == "slow-text"


def test_the_playground_rotates_a_per_user_key(admin_client, db):
    services.provider_create(name="q", provider_type="custom", base_url="http://127.0.0.1:9/v1",
                             settings={"default_model": "m"})
    first = admin_client.get(url("playground") + "?provider=q")
    assert first.status_code == 200
    assert "no-store" in first["Cache-Control"]
    page = first.content.decode()
    assert '"q/m"' in page  # the provider's default model is preselected
    assert "gwk_" not in page and not GatewayKey.objects.exists()  # opening the page changes nothing
    # The page asks for its key with a POST; each POST rotates it.
    raw1 = admin_client.post(url("playground")).json()["key"]
    raw2 = admin_client.post(url("playground")).json()["key"]
    assert raw1 != raw2 and raw1.startswith("gwk_")
    key = GatewayKey.objects.get(name__startswith="playground-ops-")
    assert key.is_active
    assert key.key_hash == hash_gateway_key(raw2)
    assert GatewayKey.objects.count() == 1


def test_onboarding_pages_need_staff(db, upstream):
    provider = services.provider_create(name="up", provider_type="custom", base_url=upstream.base_url)
    client = Client()
    for target in (url("test_connection", provider.pk), url("probe", provider.pk), url("playground")):
        response = client.get(target)
        assert response.status_code == 302 and "/login/" in response["Location"]
    assert not GatewayKey.objects.exists()
    assert Provider.objects.count() == 1


def test_a_change_signed_for_one_provider_cannot_be_applied_to_another(admin_client, quirky):
    quirky.reject_stream_options = True
    first = services.provider_create(name="first", provider_type="custom", base_url=quirky.base_url)
    second = services.provider_create(name="second", provider_type="custom", base_url=quirky.base_url)
    page = admin_client.get(url("probe", first.pk)).content.decode()
    signed = re.search(r'name="suggestion" value="([^"]+)"', page).group(1)
    response = admin_client.post(url("probe", second.pk), {"suggestion": signed}, follow=True)
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    second.refresh_from_db()
    assert second.settings == {}
