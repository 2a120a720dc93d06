"""The import file calls extra headers ``extra_headers``, as the REST API does. The old
name ``headers`` is still read, with a warning to rename it; both at once is an error.
Export writes the API's name."""
from __future__ import annotations

import pytest

from providers import services
from providers.api import ProviderSerializer
from providers.models import Provider
from providers.onboarding import config_io

pytestmark = pytest.mark.django_db

ENTRY = "  - {name: a, type: custom, base_url: 'http://127.0.0.1:1/v1', %s}\n"


def _write(tmp_path, body: str) -> str:
    path = tmp_path / "p.yaml"
    path.write_text("providers:\n" + body)
    return str(path)


def test_extra_headers_are_imported_under_the_api_name(tmp_path):
    result = config_io.import_file(_write(tmp_path, ENTRY % "extra_headers: {X-Org: acme}"), allow_inline=True)

    assert result.warnings == []
    assert Provider.objects.get().extra_headers == {"X-Org": "acme"}


def test_the_old_name_still_works_with_a_warning(tmp_path):
    result = config_io.import_file(_write(tmp_path, ENTRY % "headers: {X-Org: acme}"), allow_inline=True)

    assert result.warnings == ["providers[0] “a”: “headers” is now called “extra_headers”, as in the API; "
                               "rename it in the file."]
    assert Provider.objects.get().extra_headers == {"X-Org": "acme"}


def test_both_names_at_once_are_refused(tmp_path):
    path = _write(tmp_path, ENTRY % "headers: {X-Org: acme}, extra_headers: {X-Org: other}")

    with pytest.raises(config_io.ConfigError) as caught:
        config_io.import_file(path, allow_inline=True)

    assert caught.value.problems == [("providers[0] “a”", "headers", "Use only “extra_headers”; “headers” is its old name.")]
    assert not Provider.objects.exists()


def test_export_uses_the_api_field_names(tmp_path):
    services.provider_create(name="a", provider_type="custom", base_url="http://127.0.0.1:1/v1",
                             extra_headers={"X-Org": "acme"}, settings={"models": ["m"], "read_timeout": 5})

    entry = config_io.export_document()["providers"][0]

    assert entry["extra_headers"] == {"X-Org": {"env": "A_HEADER_X_ORG"}}
    # Every name is the API's, but for the file's "type" and its "models" shorthand.
    assert set(entry) - {"type", "models"} <= set(ProviderSerializer().fields)
