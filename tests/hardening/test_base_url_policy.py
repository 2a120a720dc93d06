"""The provider base URL policy: loopback and private networks are allowed,
metadata and link-local addresses refused unless allowed, an allowlist
restricts hosts; checked when a provider is saved and again when the gateway
connects, so a name that later resolves somewhere else is still caught."""
from __future__ import annotations

import logging
import socket

import httpx
import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from providers import services, url_policy
from providers.transport import client as http

# Names this test resolves itself (no /etc/hosts, no DNS): what a hostile or
# changed DNS record would answer.
FAKE_DNS = {
    "metadata-rebind.test": "169.254.169.254",
    "ll-rebind.test": "169.254.10.20",
    "v6-ll.test": "fe80::1",
    "local-alias.test": "127.0.0.1",
}


@pytest.fixture
def fake_dns(monkeypatch):
    real = http.resolve

    async def resolve(host, port, family=socket.AF_UNSPEC):
        address = FAKE_DNS.get(host)
        if address is None:
            return await real(host, port, family)
        return [{"hostname": host, "host": address, "port": port, "family": socket.AF_INET6 if ":" in address
                 else socket.AF_INET, "proto": 0, "flags": 0}]

    monkeypatch.setattr(http, "resolve", resolve)
    http._dns.clear()
    yield
    http._dns.clear()


def _create(name: str, base_url: str):
    return services.provider_create(name=name, provider_type="custom", base_url=base_url)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://169.254.169.254/latest",
        "http://169.254.1.1:8080/v1",
        "http://[fe80::1]:8000/v1",
        "http://[fd00:ec2::254]/v1",
        "http://[::ffff:169.254.169.254]/v1",
        "http://metadata.google.internal/computeMetadata/v1",
        "http://metadata/v1",
    ],
)
def test_metadata_and_link_local_are_refused_at_save_time(db, base_url):
    with pytest.raises(ValidationError) as caught:
        _create("evil", base_url)
    assert "base_url" in caught.value.message_dict


@pytest.mark.parametrize(
    "base_url",
    ["http://127.0.0.1:8000/v1", "http://localhost:11434/v1", "http://10.1.2.3/v1", "http://192.168.0.5:1234/v1",
     "http://172.16.0.9/v1", "http://[::1]:8000/v1", "https://api.example.com/v1"],
)
def test_loopback_private_and_public_hosts_are_allowed_by_default(db, base_url):
    assert _create("fine", base_url).base_url == base_url


def test_link_local_can_be_allowed_explicitly(db):
    with override_settings(GATEWAY_ALLOW_LINK_LOCAL=True):
        assert _create("imds", "http://169.254.169.254/v1").pk


@override_settings(GATEWAY_ALLOWED_UPSTREAMS=["llm.internal.example", "10.0.0.0/8"])
def test_allowlist_restricts_hosts_and_networks(db):
    assert _create("by-name", "https://llm.internal.example/v1").pk
    assert _create("by-net", "http://10.20.30.40:8000/v1").pk
    for i, url in enumerate(["http://127.0.0.1:8000/v1", "https://api.openai.com/v1", "http://192.168.1.1/v1"]):
        with pytest.raises(ValidationError) as caught:
            _create(f"off-list-{i}", url)
        assert "base_url" in caught.value.message_dict


def _chat(live_gateway, key: str, model: str) -> httpx.Response:
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        return client.post(
            "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
            json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        )


def _assert_refused_at_connect(resp: httpx.Response, caplog, host: str) -> None:
    assert resp.status_code == 502, resp.text
    assert resp.json()["error"]["code"] == "upstream_unreachable"
    lines = [r.getMessage() for r in caplog.records]
    assert any(f"host={host}" in line and "refused by the base URL policy" in line for line in lines), lines
    assert any("provider=rebound" in line and "UpstreamAddressRefused" in line for line in lines), lines


@pytest.mark.parametrize("name", ["metadata-rebind.test", "ll-rebind.test"])
def test_a_name_resolving_to_metadata_is_refused_at_connect_time(
    name, fake_dns, live_gateway, faulty, make_provider, gateway_key, caplog
):
    caplog.set_level(logging.INFO, logger="gateway")
    # Saved as a harmless-looking name: the save-time check cannot know where it points.
    make_provider(name="rebound", base_url=f"http://{name}:{faulty.port}/v1")
    accepted = faulty.accepted
    resp = _chat(live_gateway, gateway_key, "rebound/ok")
    _assert_refused_at_connect(resp, caplog, name)
    assert faulty.accepted == accepted  # no socket was ever opened
    assert not faulty.requests


def test_a_name_resolving_to_loopback_is_served(fake_dns, live_gateway, faulty, make_provider, gateway_key):
    make_provider(name="aliased", base_url=f"http://local-alias.test:{faulty.port}/v1")
    resp = _chat(live_gateway, gateway_key, "aliased/ok")
    assert resp.status_code == 200, resp.text
    assert faulty.requests["ok"] == 1


def test_allowlist_is_enforced_on_resolved_and_literal_addresses_at_connect_time(
    fake_dns, live_gateway, faulty, make_provider, gateway_key, caplog
):
    caplog.set_level(logging.INFO, logger="gateway")
    make_provider(name="rebound", base_url=f"http://127.0.0.1:{faulty.port}/v1")
    make_provider(name="aliased", base_url=f"http://local-alias.test:{faulty.port}/v1")
    assert _chat(live_gateway, gateway_key, "rebound/ok").status_code == 200
    # The operator tightens the allowlist after the providers were saved.
    with override_settings(GATEWAY_ALLOWED_UPSTREAMS=["10.0.0.0/8"]):
        _assert_refused_at_connect(_chat(live_gateway, gateway_key, "rebound/ok"), caplog, "127.0.0.1")
        resp = _chat(live_gateway, gateway_key, "aliased/ok")
        assert resp.status_code == 502 and resp.json()["error"]["code"] == "upstream_unreachable"
    with override_settings(GATEWAY_ALLOWED_UPSTREAMS=["127.0.0.0/8"]):
        assert _chat(live_gateway, gateway_key, "aliased/ok").status_code == 200
    assert faulty.requests["ok"] == 2


@pytest.mark.parametrize(
    ("host", "address", "refused"),
    [
        ("x.test", "169.254.169.254", True),
        ("x.test", "fe80::1", True),
        ("x.test", "fe80::1%eth0", True),
        ("x.test", "::ffff:169.254.169.254", True),
        ("x.test", "127.0.0.1", False),
        ("x.test", "10.0.0.1", False),
        ("x.test", "93.184.216.34", False),
    ],
)
def test_check_resolved_looks_at_every_address(host, address, refused):
    results = ["127.0.0.1", address]
    if refused:
        with pytest.raises(url_policy.UpstreamAddressRefused):
            url_policy.check_resolved(host, results)
    else:
        url_policy.check_resolved(host, results)


def test_connection_checks_catch_a_name_rebound_between_check_and_connect(monkeypatch, faulty):
    """The connection check (providers/onboarding/probe.py) resolves once to vet the
    address; a rebinding name answers differently the next time. The connection
    itself is vetted and pinned too, so the off-list address is never reached.
    (The second answer is the loopback fake, so a connection would be counted.)"""
    from providers.adapters.base import ProviderConfig
    from providers.onboarding import probe

    real = socket.getaddrinfo
    answers = iter(["10.1.2.3"] + ["127.0.0.1"] * 20)

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind-later.test":
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    config = ProviderConfig(id=1, name="rebinder", provider_type="custom",
                            base_url=f"http://rebind-later.test:{faulty.port}/v1", api_key=None,
                            settings={"direct": True})
    accepted = faulty.accepted
    with override_settings(GATEWAY_ALLOWED_UPSTREAMS=["10.0.0.0/8"]):
        result = probe.check_config(config, timeout=5, try_variants=False)
    assert not result.ok and not result.reachable, result.as_dict()
    assert faulty.accepted == accepted  # the rebound address was never connected to


def test_connection_checks_still_reach_allowed_hosts(faulty):
    from providers.adapters.base import ProviderConfig
    from providers.onboarding import probe

    config = ProviderConfig(id=1, name="fine", provider_type="custom", base_url=faulty.base_url, api_key=None,
                            settings={"direct": True})
    result = probe.check_config(config, timeout=5, try_variants=False)
    assert result.reachable, result.as_dict()
