"""Every /v1 call needs a live gateway key: 401 in OpenAI's error shape otherwise;
revocation takes effect at once; the key's last-used time is recorded."""
from __future__ import annotations

import time

import httpx
import pytest
from django.core.management import call_command

MESSAGES = [{"role": "user", "content": "hi"}]
CHAT = {"model": "local/text", "messages": MESSAGES}


@pytest.fixture
def local(make_provider, upstream):
    return make_provider(name="local", base_url=upstream.base_url, api_key="sk-provider-secret-4321")


def chat(url: str, headers: dict[str, str], body: dict | None = None) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", headers=headers, json=body or CHAT, timeout=20)


def assert_401(resp: httpx.Response) -> None:
    assert resp.status_code == 401
    assert resp.json() == {
        "error": {"message": resp.json()["error"]["message"], "type": "invalid_request_error", "param": None,
                  "code": "invalid_api_key"}
    }
    assert resp.json()["error"]["message"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer gwk_not-a-real-key"},
        {"Authorization": "Bearer sk-provider-secret-4321"},  # a provider key is never a client credential
        {"X-Api-Key": "anything"},
    ],
)
def test_requests_without_a_valid_gateway_key_are_401(live_gateway, local, upstream, headers):
    assert_401(chat(live_gateway.url, headers))
    assert_401(chat(live_gateway.url, headers, {**CHAT, "stream": True}))
    assert_401(httpx.get(f"{live_gateway.url}/v1/models", headers=headers))
    assert upstream.requests == []


def test_error_messages_never_echo_the_presented_secret(live_gateway, local):
    resp = chat(live_gateway.url, {"Authorization": "Bearer gwk_secret-attempt-XYZ"})
    assert "secret-attempt" not in resp.text


def test_revocation_takes_effect_at_once(live_gateway, local, transactional_db):
    from providers import services
    from providers.models import GatewayKey

    _key, raw = services.gateway_key_create(name="soon-revoked")
    headers = {"Authorization": f"Bearer {raw}"}
    assert chat(live_gateway.url, headers).status_code == 200
    services.gateway_key_revoke(key=GatewayKey.objects.get(name="soon-revoked"))
    assert_401(chat(live_gateway.url, headers))
    assert_401(httpx.get(f"{live_gateway.url}/v1/models", headers=headers))


def test_revocation_by_the_management_command_takes_effect_at_once(live_gateway, local, transactional_db):
    from providers import services

    _key, raw = services.gateway_key_create(name="cli-revoked")
    headers = {"Authorization": f"Bearer {raw}"}
    assert chat(live_gateway.url, headers).status_code == 200
    call_command("gateway_key", "revoke", "cli-revoked", stdout=None)
    assert_401(chat(live_gateway.url, headers))


def test_last_used_time_is_recorded(live_gateway, local, transactional_db):
    from providers import services
    from providers.models import ConfigVersion, GatewayKey

    key, raw = services.gateway_key_create(name="tracked")
    assert key.last_used_at is None
    version = ConfigVersion.objects.get(pk=1).version
    before = time.time()
    # One request and nothing after it: the batched write must still happen.
    assert chat(live_gateway.url, {"Authorization": f"Bearer {raw}"}).status_code == 200
    deadline = time.monotonic() + 15
    last_used = None
    while time.monotonic() < deadline:
        last_used = GatewayKey.objects.get(pk=key.pk).last_used_at
        if last_used is not None:
            break
        time.sleep(0.05)
    assert last_used is not None, "last_used_at was never written"
    assert last_used.timestamp() >= before - 1
    # Recording use is not a configuration change: it must not make every process reload.
    assert ConfigVersion.objects.get(pk=1).version == version


@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/audio/speech"), ("POST", "/v1/completions"), ("GET", "/v1/files")])
def test_unknown_v1_endpoints_need_a_key_then_answer_an_openai_404(live_gateway, local, gateway_key, method, path):
    assert_401(httpx.request(method, f"{live_gateway.url}{path}", json={}))
    resp = httpx.request(method, f"{live_gateway.url}{path}", json={}, headers={"Authorization": f"Bearer {gateway_key}"})
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "unknown_url"
    assert set(resp.json()["error"]) == {"message", "type", "param", "code"}
