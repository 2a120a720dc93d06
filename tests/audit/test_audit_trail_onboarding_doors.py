"""The admin's one-click writes name their door in the History: the probe's "apply
findings", the connection test's "use this URL", fetch-models and the playground's key
rotation; each by the staff user who clicked, and only with the change permission."""
from __future__ import annotations

import pytest

from providers import services
from providers.models import GatewayKey, Provider
from providers.onboarding.admin_views import playground_key_name, sign_change
from tests.audit.helpers import history, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider() -> Provider:
    return services.provider_create(name="local", provider_type="custom", base_url="http://127.0.0.1:9/v1",
                                    settings={"read_timeout": 30})


@pytest.fixture
def editor(client, django_user_model):
    client.force_login(staff(django_user_model, "editor", "view_provider", "change_provider", "add_gatewaykey"))
    return client


def url(provider: Provider, view: str) -> str:
    return f"/admin/providers/provider/{provider.pk}/{view}/"


def test_probe_apply_findings(editor, provider):
    token = sign_change(provider, {"settings": {"retries": 1}})
    assert editor.post(url(provider, "probe"), {"suggestion": token}).status_code == 302
    last = history(provider)[-1]
    assert (last["who"], last["door"], last["message"]) == ("editor", "probe: apply findings",
                                                            "Changed settings (retries).")


def test_use_this_url(editor, provider):
    token = sign_change(provider, "http://127.0.0.1:9")
    assert editor.post(url(provider, "test-connection"), {"base_url": token}).status_code == 302
    last = history(provider)[-1]
    assert (last["who"], last["door"], last["message"]) == ("editor", "connection test: use this URL",
                                                            "Changed base URL.")


def test_fetch_models_saves_the_allowlist(editor, provider):
    response = editor.post(url(provider, "fetch-models"), {"allowed": ["a", "b"], "default_model": "a"})
    assert response.status_code == 302
    last = history(provider)[-1]
    assert (last["who"], last["door"], last["message"]) == (
        "editor", "fetch models", "Changed settings (allowed_models, default_model).")


def test_playground_key_rotation(editor):
    for _ in range(2):
        assert editor.post("/admin/providers/provider/playground/").status_code == 200
    key = GatewayKey.objects.get(name__startswith="playground-editor")
    assert [(e["who"], e["door"], e["message"]) for e in history(key)] == [
        ("editor", "key rotation", "Added."), ("editor", "key rotation", "Changed secret key (value not shown).")]
    assert key.name == playground_key_name(key_owner(editor))


def key_owner(client):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="editor")


def test_a_viewer_cannot_apply_and_leaves_no_entry(client, django_user_model, provider):
    client.force_login(staff(django_user_model, "viewer", "view_provider"))
    before = history(provider)
    assert client.post(url(provider, "probe"), {"suggestion": sign_change(provider, {"settings": {"retries": 1}})}
                       ).status_code == 403
    assert history(provider) == before
