"""The configuration version has one owner (providers/config_version.py) and every
write bumps it once, however many rows and signals it touches."""
from __future__ import annotations

import pytest
from django.db import transaction

from providers import config_version, services
from providers.models import Provider

pytestmark = pytest.mark.django_db(transaction=True)


def _version() -> int:
    return config_version.read()


def test_each_service_write_bumps_the_version_once():
    start = _version()
    provider = services.provider_create(name="one", provider_type="custom", base_url="http://127.0.0.1:1/v1")
    assert _version() == start + 1
    services.provider_update(provider=provider, base_url="http://127.0.0.1:2/v1")
    assert _version() == start + 2
    # A key with providers: the row, the M2M signals and the service's own bump are one write.
    key, _raw = services.gateway_key_create(name="scoped", providers=[provider])
    assert _version() == start + 3
    services.gateway_key_update(key=key, all_providers=True, providers=[])
    assert _version() == start + 4
    services.gateway_key_revoke(key=key)
    assert _version() == start + 5
    services.provider_delete(provider=provider)
    assert _version() == start + 6


def test_a_change_outside_the_services_still_bumps_it():
    start = _version()
    Provider.objects.create(name="shell", provider_type="custom", base_url="http://127.0.0.1:1/v1")
    assert _version() == start + 1


def test_a_rolled_back_savepoint_does_not_swallow_the_next_bump():
    start = _version()
    with transaction.atomic():
        try:
            with transaction.atomic():
                config_version.bump()
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        assert config_version.read() == start
        config_version.bump()
    assert _version() == start + 1


def test_a_committed_bump_tells_this_process_once():
    calls: list[int] = []
    config_version.on_change(lambda: calls.append(1))
    try:
        services.provider_create(name="told", provider_type="custom", base_url="http://127.0.0.1:1/v1")
    finally:
        config_version._listeners.pop()
    assert calls == [1]
