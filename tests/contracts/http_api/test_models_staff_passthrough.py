"""``GET /api/providers/{id}/models/`` (staff only): the backend's own answer at
its ``/models`` endpoint, as reported, whatever its shape."""
from __future__ import annotations

import pytest

from tests.fakes.openai_upstream import CREATED


def url(provider) -> str:
    return f"/api/providers/{provider.pk}/models/"


def test_openai_list_is_passed_through_as_reported(admin_client, make_provider, upstream):
    provider = make_provider(name="local", base_url=upstream.base_url, api_key="sk-staff-view-0001")
    resp = admin_client.get(url(provider))
    assert resp.status_code == 200
    assert resp.json() == {
        "object": "list",
        "data": [
            {"id": m, "object": "model", "created": CREATED, "owned_by": "fake"}
            for m in ["text", "tools", "meta-llama/Llama-3-8B"]
        ],
    }
    assert upstream.last().headers["authorization"] == "Bearer sk-staff-view-0001"
    assert "sk-staff-view" not in resp.content.decode()


def test_bare_array_is_passed_through_unnormalised(admin_client, make_provider, upstream):
    upstream.models_shape = "bare"
    provider = make_provider(name="local", base_url=upstream.base_url, settings={"allowed_models": ["text"]})
    resp = admin_client.get(url(provider))
    assert resp.status_code == 200
    # As reported: no allowlist, no added fields.
    assert resp.json() == [{"id": "text"}, {"id": "tools"}, {"id": "meta-llama/Llama-3-8B"}]


@pytest.mark.parametrize(("shape", "upstream_status"), [(None, 404), ("html", 200)])
def test_backend_without_models_endpoint_is_a_502_that_says_so(admin_client, make_provider, upstream, shape, upstream_status):
    upstream.models_shape = shape
    provider = make_provider(name="local", base_url=upstream.base_url)
    resp = admin_client.get(url(provider))
    assert resp.status_code == 502
    assert resp.json()["upstream_status"] == upstream_status
    assert "/models" in resp.json()["detail"]


def test_unknown_provider_is_404(admin_client, transactional_db):
    assert admin_client.get("/api/providers/999999/models/").status_code == 404


def test_staff_only(client, django_user_model, make_provider, upstream):
    provider = make_provider(name="local", base_url=upstream.base_url)
    assert client.get(url(provider)).status_code in (401, 403)
    user = django_user_model.objects.create_user(username="plain", password="pw-123456789")
    client.force_login(user)
    assert client.get(url(provider)).status_code == 403
    assert upstream.requests == []


def test_other_wire_formats_pass_through_their_own_listing(admin_client, make_provider, anthropic_upstream):
    provider = make_provider(
        name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url, api_key="sk-ant-test-0001"
    )
    resp = admin_client.get(url(provider))
    assert resp.status_code == 200
    body = resp.json()
    assert [m["id"] for m in body["data"]] == list(anthropic_upstream.model_ids)
    # Anthropic's own entry shape, not OpenAI's.
    assert set(body["data"][0]) == {"type", "id", "display_name", "created_at"}
