"""A gateway key restricted to one provider stays restricted when that provider is
deleted: it is refused on every /v1 route with a 403 naming the reason, instead of
becoming an "every provider" key (an empty set used to mean "all"). The admin and
the API show it as having no provider left."""
from __future__ import annotations

import io
import re

import httpx
import pytest
from django.core.management import call_command

from providers import services
from providers.models import GatewayKey

MESSAGES = [{"role": "user", "content": "hi"}]


def chat(url: str, key: str, model: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": model, "messages": MESSAGES}, timeout=20)


def models(url: str, key: str) -> httpx.Response:
    return httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=20)


def assert_no_provider_left(resp: httpx.Response) -> None:
    assert resp.status_code == 403
    assert resp.json() == {"error": {
        "message": "This gateway key is restricted to providers that no longer exist (no provider left). "
                   "Ask an administrator to choose its providers again.",
        "type": "permission_error", "param": None, "code": "no_provider_left",
    }}


@pytest.fixture
def restricted(make_provider, upstream):
    only = make_provider(name="only", base_url=upstream.base_url)
    make_provider(name="other", base_url=upstream.base_url)
    key, raw = services.gateway_key_create(name="restricted", providers=[only])
    assert key.all_providers is False
    return only, raw


def test_deleting_the_only_provider_refuses_the_key_everywhere(any_gateway, restricted, upstream):
    only, raw = restricted
    assert chat(any_gateway.url, raw, "only/text").status_code == 200
    assert chat(any_gateway.url, raw, "other/text").json()["error"]["code"] == "model_not_found"
    assert {m["owned_by"] for m in models(any_gateway.url, raw).json()["data"]} == {"only"}

    services.provider_delete(provider=only)
    upstream.requests.clear()

    assert_no_provider_left(chat(any_gateway.url, raw, "other/text"))
    assert_no_provider_left(chat(any_gateway.url, raw, "only/text"))
    assert_no_provider_left(models(any_gateway.url, raw))
    assert upstream.requests == []  # nothing reached any upstream


def test_deleting_one_of_two_providers_keeps_the_other_only(live_gateway, make_provider, upstream):
    first = make_provider(name="first", base_url=upstream.base_url)
    second = make_provider(name="second", base_url=upstream.base_url)
    make_provider(name="third", base_url=upstream.base_url)
    _key, raw = services.gateway_key_create(name="two", providers=[first, second])
    services.provider_delete(provider=first)
    assert chat(live_gateway.url, raw, "second/text").status_code == 200
    assert chat(live_gateway.url, raw, "third/text").status_code == 404


def test_admin_and_api_show_no_provider_left(restricted, admin_client):
    only, _raw = restricted
    services.provider_delete(provider=only)
    page = admin_client.get("/admin/providers/gatewaykey/")
    assert page.status_code == 200
    assert b"No provider left" in page.content
    body = admin_client.get("/api/gateway-keys/").json()
    row = next(r for r in body["results"] if r["name"] == "restricted") if isinstance(body, dict) else \
        next(r for r in body if r["name"] == "restricted")
    assert (row["all_providers"], row["providers"], row["no_provider_left"]) == (False, [], True)
    assert GatewayKey.objects.get(name="restricted").no_provider_left
    out = io.StringIO()
    call_command("gateway_key", "list", stdout=out)
    assert re.search(r"^restricted .* no provider left$", out.getvalue(), re.M)


def test_an_all_providers_key_reaches_a_provider_added_later(live_gateway, make_provider, upstream):
    _key, raw = services.gateway_key_create(name="everything", all_providers=True)
    make_provider(name="later", base_url=upstream.base_url)
    assert chat(live_gateway.url, raw, "later/text").status_code == 200


def test_a_stranded_key_works_again_only_once_given_providers(live_gateway, restricted, admin_client):
    only, raw = restricted
    services.provider_delete(provider=only)
    key = GatewayKey.objects.get(name="restricted")
    url = f"/api/gateway-keys/{key.pk}/"
    resp = admin_client.patch(url, {"rate_limit_rpm": 5}, content_type="application/json")
    assert resp.status_code == 400 and set(resp.json()) == {"providers"}  # nothing widens it by the way
    resp = admin_client.patch(url, {"providers": ["other"]}, content_type="application/json")
    assert resp.status_code == 200, resp.content
    assert (resp.json()["all_providers"], resp.json()["providers"], resp.json()["no_provider_left"]) == \
        (False, ["other"], False)
    assert chat(live_gateway.url, raw, "other/text").status_code == 200

    # The admin sets the flag explicitly; neither flag nor provider is refused.
    change = f"/admin/providers/gatewaykey/{key.pk}/change/"
    page = admin_client.post(change, {"rate_limit_rpm": "", "rate_limit_tpm": ""})
    assert page.status_code == 200 and "Choose at least one provider, or allow all providers." in page.content.decode()
    assert admin_client.post(change, {"all_providers": "on", "rate_limit_rpm": "", "rate_limit_tpm": ""}).status_code == 302
    key.refresh_from_db()
    assert key.all_providers and not key.providers.exists()
