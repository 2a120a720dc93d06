"""When the typed base URL does not answer, the usual variants are tried and the
working one is proposed (missing /v1, a trailing /chat/completions)."""
from __future__ import annotations

import pytest

from providers import services
from providers.onboarding import probe


def test_the_variants_of_a_typed_url():
    assert probe.base_url_variants("http://h:8000") == ["http://h:8000/v1"]
    assert probe.base_url_variants("http://h:8000/v1/chat/completions") == ["http://h:8000/v1", "http://h:8000"]
    assert probe.base_url_variants("http://h:8000/v1") == ["http://h:8000"]
    assert probe.base_url_variants("http://h/api/models/") == ["http://h/api", "http://h/api/v1"]


@pytest.mark.parametrize("typed", ["{root}", "{root}/", "{root}/v1/chat/completions", "{root}/v1/models"])
def test_a_mistyped_url_gets_the_working_one_proposed(db, upstream, typed):
    root = f"http://127.0.0.1:{upstream.port}"
    provider = services.provider_create(name="typo", provider_type="custom", base_url=typed.format(root=root))
    result = probe.check_connection(provider)
    assert result.ok is False and result.reachable is True
    assert result.cause == "base_url_variant"
    assert result.suggested_base_url == f"{root}/v1"
    assert result.message() == f"The base URL as entered does not answer, but {root}/v1 does: use it instead."
    assert result.model_count == 3


def test_applying_the_proposal_fixes_the_provider(db, upstream):
    root = f"http://127.0.0.1:{upstream.port}"
    provider = services.provider_create(name="typo", provider_type="custom", base_url=root)
    report = probe.probe_provider(provider)
    assert report.suggestions() == {"base_url": f"{root}/v1"}
    probe.apply_suggestions(provider, report.suggestions())
    provider.refresh_from_db()
    assert provider.base_url == f"{root}/v1"
    assert probe.check_connection(provider).ok is True
