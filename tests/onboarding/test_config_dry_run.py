"""``--dry-run`` shows the diff (create, update with the changed fields, delete)
and changes nothing, not even the configuration version."""
from __future__ import annotations

import io
import json

from django.core.management import call_command

from providers import services
from providers.models import ConfigVersion

from .helpers import state

FILE = """
version: 1
providers:
  - name: keep
    type: custom
    base_url: http://127.0.0.1:9000/v1
    settings: {read_timeout: 30}
  - name: fresh
    type: custom
    base_url: http://127.0.0.1:9001/v1
"""


def test_dry_run_reports_the_diff_and_changes_nothing(db, tmp_path):
    services.provider_create(name="keep", provider_type="custom", base_url="http://127.0.0.1:9000/v1")
    services.provider_create(name="stale", provider_type="custom", base_url="http://127.0.0.1:9002/v1")
    before = state()
    version = ConfigVersion.objects.get(pk=1).version
    path = tmp_path / "p.yaml"
    path.write_text(FILE)

    out = io.StringIO()
    call_command("providers", "import", str(path), "--dry-run", "--prune", "--json", stdout=out)

    report = json.loads(out.getvalue())
    assert report["dry_run"] is True
    assert report["changes"] == [
        {"action": "update", "name": "keep", "fields": ["settings"]},
        {"action": "create", "name": "fresh", "fields": []},
        {"action": "delete", "name": "stale", "fields": []},
    ]
    assert state() == before
    assert ConfigVersion.objects.get(pk=1).version == version


def test_dry_run_prints_a_readable_diff(db, tmp_path):
    services.provider_create(name="keep", provider_type="custom", base_url="http://127.0.0.1:9000/v1")
    path = tmp_path / "p.yaml"
    path.write_text(FILE)
    out = io.StringIO()
    call_command("providers", "import", str(path), "--dry-run", stdout=out)
    text = out.getvalue()
    assert "~ update keep (settings)" in text
    assert "+ create fresh" in text
    assert "Dry run: nothing was changed." in text
    assert set(state()) == {"keep"}
