"""The connection check goes through the one upstream client with its bounds: a
backend answering "test connection" with 1 GiB of /models (the old httpx probe read
it whole: 3.8 GB) is refused at the body cap, with a finding that says why, and the
check's memory stays bounded (tracemalloc peak, in this process: the check runs
here, on the synchronous entry's private loop)."""
from __future__ import annotations

import tracemalloc

import pytest

from providers.adapters.base import ProviderConfig
from providers.onboarding import probe
from tests.fakes.gateway_process import script_server


@pytest.fixture(scope="module")
def hostile_port():
    with script_server("tests.fakes.hostile_upstream") as port:
        yield port


@pytest.mark.timeout(120)
def test_a_1_gib_model_list_is_refused_at_the_cap_with_bounded_memory(hostile_port, settings):
    settings.GATEWAY_UPSTREAM_MAX_BODY_BYTES = 8 * 1024 * 1024
    config = ProviderConfig(id=1, name="huge", provider_type="custom",
                            base_url=f"http://127.0.0.1:{hostile_port}/huge-models/v1", api_key=None,
                            settings={"direct": True})
    tracemalloc.start()
    try:
        result = probe.check_config(config, timeout=20, try_variants=False)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not result.ok
    assert result.cause == "too_large" and result.params == {"limit": 8 * 1024 * 1024}, result.as_dict()
    assert peak < 40 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.timeout(60)
def test_an_endless_head_fails_the_check_quickly(hostile_port):
    config = ProviderConfig(id=1, name="hints", provider_type="custom",
                            base_url=f"http://127.0.0.1:{hostile_port}/early-hints/v1", api_key=None,
                            settings={"direct": True})
    result = probe.check_config(config, timeout=2, try_variants=False)
    assert not result.ok and result.cause == "timeout", result.as_dict()
