"""A custom provider registered through /api/providers/: it persists, it is listed,
and its key and header values never come back in any response."""
from __future__ import annotations

import pytest

from providers.models import Provider

pytestmark = pytest.mark.django_db

API_KEY = "sk-local-secret-Vq83LmZp"
HEADER_SECRET = "tenant-secret-Qx71"


class RecordingApi:
    """The staff client speaking JSON, keeping every response body so tests can scan them for secrets."""

    def __init__(self, client):
        self.client = client
        self.bodies: list[bytes] = []

    def _keep(self, response):
        self.bodies.append(response.content)
        return response

    def get(self, url, **kwargs):
        return self._keep(self.client.get(url, **kwargs))

    def delete(self, url, **kwargs):
        return self._keep(self.client.delete(url, **kwargs))

    def post(self, url, data, **kwargs):
        return self._keep(self.client.post(url, data, content_type="application/json", **kwargs))

    def put(self, url, data, **kwargs):
        return self._keep(self.client.put(url, data, content_type="application/json", **kwargs))

    def patch(self, url, data, **kwargs):
        return self._keep(self.client.patch(url, data, content_type="application/json", **kwargs))


@pytest.fixture
def api(admin_client):
    return RecordingApi(admin_client)


def create(api, **overrides):
    payload = {
        "name": "local-vllm",
        "provider_type": "custom",
        "base_url": "http://127.0.0.1:8001/v1/",
        "api_key": API_KEY,
        "extra_headers": {"X-Tenant": HEADER_SECRET},
        "display_names": {"en": "Local vLLM", "vi": "vLLM nội bộ", "zh-hans": "本地 vLLM"},
        "settings": {"read_timeout": 300, "allowed_models": ["llama3"], "default_model": "llama3"},
    }
    payload.update(overrides)
    return api.post("/api/providers/", payload)


def test_create_custom_provider_persists_and_masks_the_key(api):
    response = create(api)
    assert response.status_code == 201, response.content
    body = response.json()
    created_at, updated_at = body.pop("created_at"), body.pop("updated_at")
    assert created_at and updated_at
    assert body == {
        "id": body["id"],
        "name": "local-vllm",
        "display_name": "Local vLLM",
        "display_names": {"en": "Local vLLM", "vi": "vLLM nội bộ", "zh-hans": "本地 vLLM"},
        "provider_type": "custom",
        "provider_type_label": "Custom Provider",
        "base_url": "http://127.0.0.1:8001/v1",
        "has_api_key": True,
        "api_key_hint": API_KEY[-4:],
        "extra_header_names": ["X-Tenant"],
        "extra_header_hints": {"X-Tenant": body["extra_header_hints"]["X-Tenant"]},
        "settings": {"read_timeout": 300, "allowed_models": ["llama3"], "default_model": "llama3"},
        "secret_setting_hints": {},
        "enabled": True,
        "health": {"state": "healthy", "cooling_down_until": None, "failing_since": None, "last_error": "",
                   "last_error_at": None, "error_rate": None, "requests": 0},
    }
    stored = Provider.objects.get(pk=body["id"])
    assert stored.provider_type == "custom"
    assert stored.api_key == API_KEY
    assert stored.extra_headers == {"X-Tenant": HEADER_SECRET}
    assert stored.base_url == "http://127.0.0.1:8001/v1"

    listing = api.get("/api/providers/")
    assert listing.status_code == 200
    page = listing.json()
    assert page["count"] == 1 and page["next"] is None and page["previous"] is None
    assert [p["name"] for p in page["results"]] == ["local-vllm"]
    assert page["results"][0]["has_api_key"] is True

    detail = api.get(f"/api/providers/{body['id']}/")
    assert detail.status_code == 200 and detail.json()["api_key_hint"] == API_KEY[-4:]

    for raw in api.bodies:
        assert API_KEY.encode() not in raw
        assert HEADER_SECRET.encode() not in raw


def test_display_name_follows_the_request_language(api):
    pk = create(api).json()["id"]
    assert api.get(f"/api/providers/{pk}/", HTTP_ACCEPT_LANGUAGE="vi").json()["display_name"] == "vLLM nội bộ"
    zh = api.get(f"/api/providers/{pk}/", HTTP_ACCEPT_LANGUAGE="zh")
    assert zh.json()["display_name"] == "本地 vLLM"
    assert zh.json()["provider_type_label"] == "自定义提供商"
    assert zh["Content-Language"] == "zh-hans"


def test_custom_provider_without_a_key_is_fine(api):
    response = create(api, name="ollama", api_key=None, extra_headers=None)
    assert response.status_code == 201, response.content
    assert response.json()["has_api_key"] is False
    assert response.json()["api_key_hint"] == ""
    assert response.json()["extra_header_names"] == []


def test_update_without_a_key_keeps_it_and_clear_removes_it(api):
    pk = create(api).json()["id"]
    # PATCH without a key, and with an empty one: the stored key stays.
    assert api.patch(f"/api/providers/{pk}/", {"enabled": False}).status_code == 200
    response = api.patch(f"/api/providers/{pk}/", {"api_key": ""})
    assert response.status_code == 200 and response.json()["has_api_key"] is True
    assert Provider.objects.get(pk=pk).api_key == API_KEY
    # PUT without a key keeps it too.
    response = api.put(f"/api/providers/{pk}/", {
        "name": "local-vllm", "provider_type": "custom", "base_url": "http://127.0.0.1:8002/v1",
    })
    assert response.status_code == 200, response.content
    assert response.json()["has_api_key"] is True and response.json()["base_url"] == "http://127.0.0.1:8002/v1"
    assert response.json()["extra_header_names"] == ["X-Tenant"]
    # A new key replaces it.
    response = api.patch(f"/api/providers/{pk}/", {"api_key": "sk-rotated-key-0042"})
    assert response.json()["api_key_hint"] == "0042"
    assert Provider.objects.get(pk=pk).api_key == "sk-rotated-key-0042"
    # An explicit clear removes it.
    response = api.patch(f"/api/providers/{pk}/", {"clear_api_key": True})
    assert response.status_code == 200
    assert response.json()["has_api_key"] is False and response.json()["api_key_hint"] == ""
    assert Provider.objects.get(pk=pk).api_key is None
    for raw in api.bodies:
        assert API_KEY.encode() not in raw and b"sk-rotated-key-0042" not in raw


def test_extra_headers_are_replaced_or_removed_only_when_sent(api):
    pk = create(api).json()["id"]
    response = api.patch(f"/api/providers/{pk}/", {"extra_headers": {"X-A": "1", "X-B": "2"}})
    assert response.json()["extra_header_names"] == ["X-A", "X-B"]
    response = api.patch(f"/api/providers/{pk}/", {"extra_headers": {}})
    assert response.json()["extra_header_names"] == []
    assert Provider.objects.get(pk=pk).extra_headers is None


def test_delete_removes_the_provider(api):
    pk = create(api).json()["id"]
    assert api.delete(f"/api/providers/{pk}/").status_code == 204
    assert not Provider.objects.filter(pk=pk).exists()
    assert api.get(f"/api/providers/{pk}/").status_code == 404


def test_provider_types_lists_the_catalog_in_the_request_language(api):
    response = api.get("/api/provider-types/", HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 200
    rows = {row["key"]: row for row in response.json()}
    assert list(rows) == ["custom", "openai", "anthropic", "dashscope", "claude_cli", "acp", "codex"]
    assert rows["custom"]["label"] == "Nhà cung cấp tùy chỉnh"
    assert rows["custom"]["requires_base_url"] is True and rows["custom"]["requires_api_key"] is False
    assert rows["custom"]["accepts_api_key"] is True and rows["custom"]["default_base_url"] == ""
    assert rows["openai"]["requires_base_url"] is False
    assert rows["openai"]["default_base_url"] == "https://api.openai.com/v1"
    assert rows["claude_cli"]["transport"] == "subprocess"
    zh = api.get("/api/provider-types/", HTTP_ACCEPT_LANGUAGE="zh")
    assert zh.json()[0]["label"] == "自定义提供商"
