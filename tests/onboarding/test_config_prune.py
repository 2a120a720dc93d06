"""``--prune`` deletes the providers the file does not list; without it they stay."""
from __future__ import annotations

import io

from django.core.management import call_command

from providers import services
from providers.models import Provider

FILE = "providers:\n  - {name: kept, type: custom, base_url: 'http://127.0.0.1:9000/v1'}\n"


def test_without_prune_unlisted_providers_stay(db, tmp_path):
    services.provider_create(name="other", provider_type="custom", base_url="http://127.0.0.1:9001/v1")
    path = tmp_path / "p.yaml"
    path.write_text(FILE)
    call_command("providers", "import", str(path), stdout=io.StringIO())
    assert sorted(Provider.objects.values_list("name", flat=True)) == ["kept", "other"]


def test_prune_deletes_unlisted_providers(db, tmp_path):
    services.provider_create(name="other", provider_type="custom", base_url="http://127.0.0.1:9001/v1")
    services.provider_create(name="kept", provider_type="custom", base_url="http://127.0.0.1:9000/v1")
    path = tmp_path / "p.yaml"
    path.write_text(FILE)
    out = io.StringIO()
    call_command("providers", "import", str(path), "--prune", stdout=out)
    assert "- delete other" in out.getvalue()
    assert "= unchanged kept" in out.getvalue()
    assert list(Provider.objects.values_list("name", flat=True)) == ["kept"]
