"""Route names work on the inbound surfaces that resolve models like chat completions
(``/v1/messages``, ``/v1/responses``: the route's choice of target, answers carrying
the route name), and the health the gateway observed shows in the admin (provider
list, route targets) and in ``/api/providers/`` and ``/api/routes/``."""
from __future__ import annotations

import httpx
import pytest

from providers.health import breaker as health
from providers.routes import services as route_services


@pytest.fixture
def routed(make_provider, upstream):
    make_provider(name="local", base_url=upstream.base_url)
    make_provider(name="spare", base_url=upstream.base_url)
    return route_services.route_create(name="chat-default", targets=route_services.targets_from_names([
        {"provider": "local", "model": "text", "weight": 2}, {"provider": "spare", "model": "tools", "priority": 1}]))


def test_messages_and_responses_resolve_a_route(routed, upstream, live_gateway, gateway_key):
    headers = {"x-api-key": gateway_key, "anthropic-version": "2023-06-01"}
    message = httpx.post(live_gateway.url + "/v1/messages", headers=headers, timeout=20, json={
        "model": "chat-default", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]})
    assert message.status_code == 200, message.text
    assert message.json()["model"] == "chat-default"
    assert message.json()["content"][0]["text"] == "Hello from fake"
    answer = httpx.post(live_gateway.url + "/v1/responses", headers={"Authorization": f"Bearer {gateway_key}"},
                        timeout=20, json={"model": "chat-default", "input": "hi"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["model"] == "chat-default"
    assert [r.body["model"] for r in upstream.requests] == ["text", "text"]


def test_health_is_shown_in_the_admin_and_the_api(routed, admin_client):
    for _ in range(3):
        health.record_failure("local/text", "connect failed: ConnectionRefusedError")
    health.record_success("spare/tools")
    page = admin_client.get("/admin/providers/provider/").content.decode()
    assert "Cooling down until" in page and "connect failed: ConnectionRefusedError" in page
    assert "100.0% of 3 requests" in page and "Healthy" in page
    route_page = admin_client.get(f"/admin/providers/route/{routed.pk}/change/").content.decode()
    assert "Cooling down until" in route_page and "Healthy" in route_page
    assert "1 of 2 targets cooling down" in admin_client.get("/admin/providers/route/").content.decode()

    listed = admin_client.get("/api/providers/").json()
    providers = {p["name"]: p["health"] for p in (listed["results"] if isinstance(listed, dict) else listed)}
    assert providers["local"]["state"] == "cooling_down"
    assert providers["local"]["cooling_down_until"].endswith("+00:00")
    assert providers["local"]["error_rate"] == 1.0 and providers["local"]["requests"] == 3
    assert providers["spare"] == {"state": "healthy", "cooling_down_until": None, "failing_since": None,
                                  "last_error": "", "last_error_at": None, "error_rate": 0.0, "requests": 1}
    route = admin_client.get(f"/api/routes/{routed.pk}/").json()
    assert [(t["provider"], t["health"]["state"]) for t in route["targets"]] == [
        ("local", "cooling_down"), ("spare", "healthy")]
