"""Gateway keys in the configuration file (``gateway_keys:``): their providers,
rate limits, expiry, model allowlist and budgets are imported through the same
service checks as the admin and the API, exported without their secret, and a
round trip changes nothing. A new key takes its secret from a reference; an
existing key's secret never changes through an import."""
from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
import yaml
from django.core.management import CommandError, call_command

from providers import services
from providers.gateway_keys import hash_gateway_key
from providers.models import GatewayKey
from providers.onboarding import config_io

SECRET = "gwk_" + "s3cr3t-from-the-vault-0123456789abcdef"

FILE = """
version: 1
providers:
  - name: vllm
    type: custom
    base_url: http://127.0.0.1:8000/v1
gateway_keys:
  - name: team-a
    key: {env: TEAM_A_KEY}
    providers: [vllm]
    allowed_models: [vllm/*, chat-default]
    expires_at: 2099-01-02T03:04:05Z
    rate_limit_rpm: 60
    requests_per_day: 1000
    tokens_per_month: 5000000
"""


def write(tmp_path, text: str = FILE) -> str:
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    return str(path)


def test_import_creates_a_key_with_its_controls_and_the_secret_from_the_reference(db, tmp_path, monkeypatch):
    monkeypatch.setenv("TEAM_A_KEY", SECRET)
    result = config_io.import_file(write(tmp_path))
    assert [(c.action, c.name, c.kind) for c in result.changes] == [("create", "vllm", "provider"),
                                                                    ("create", "team-a", "gateway_key")]
    key = GatewayKey.objects.get(name="team-a")
    assert key.key_hash == hash_gateway_key(SECRET)
    assert [p.name for p in key.providers.all()] == ["vllm"] and not key.all_providers
    assert key.allowed_models == ["vllm/*", "chat-default"]
    assert key.expires_at == datetime(2099, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert (key.rate_limit_rpm, key.requests_per_day, key.tokens_per_month, key.tokens_per_day) == (
        60, 1000, 5_000_000, None)


def test_export_then_import_changes_nothing_and_holds_no_secret(db, tmp_path, monkeypatch):
    monkeypatch.setenv("TEAM_A_KEY", SECRET)
    config_io.import_file(write(tmp_path))
    services.gateway_key_create(name="wide", requests_per_month=5)
    revoked, _raw = services.gateway_key_create(name="gone")
    services.gateway_key_revoke(key=revoked)
    text = config_io.dump(config_io.export_document(), "yaml")
    assert SECRET not in text and GatewayKey.objects.get(name="team-a").key_hash not in text
    document = yaml.safe_load(text)
    assert [k["name"] for k in document["gateway_keys"]] == ["team-a", "wide"]  # revoked keys are not exported
    assert document["gateway_keys"][0]["key"] == {"env": "GATEWAY_KEY_TEAM_A", "optional": True}
    monkeypatch.delenv("TEAM_A_KEY")
    result = config_io.import_file(write(tmp_path, text))
    assert {(c.action, c.name) for c in result.changes if c.kind == "gateway_key"} == {
        ("unchanged", "team-a"), ("unchanged", "wide")}


def test_import_updates_controls_and_reports_the_fields(db, tmp_path, monkeypatch):
    monkeypatch.setenv("TEAM_A_KEY", SECRET)
    config_io.import_file(write(tmp_path))
    changed = FILE.replace("requests_per_day: 1000", "requests_per_day: 10").replace(
        "    rate_limit_rpm: 60\n", "")
    result = config_io.import_file(write(tmp_path, changed))
    [change] = [c for c in result.changes if c.kind == "gateway_key"]
    assert (change.action, change.fields) == ("update", ["rate_limit_rpm", "requests_per_day"])
    key = GatewayKey.objects.get(name="team-a")
    assert key.requests_per_day == 10 and key.rate_limit_rpm is None  # left out: its default
    assert key.key_hash == hash_gateway_key(SECRET)


@pytest.mark.parametrize(
    ("replace", "fragment"),
    [(("allowed_models: [vllm/*, chat-default]", "allowed_models: [vllm/ bad]"), "allowed_models"),
     (("requests_per_day: 1000", "requests_per_day: 0"), "requests_per_day"),
     (("requests_per_day: 1000", "requests_per_day: lots"), "requests_per_day"),
     (("expires_at: 2099-01-02T03:04:05Z", "expires_at: someday"), "expires_at"),
     (("expires_at: 2099-01-02T03:04:05Z", "expires_at: 2001-01-01T00:00:00Z"), "expires_at"),
     (("providers: [vllm]", "providers: [nowhere]"), "providers"),
     (("rate_limit_rpm: 60", "rate_limit: 60"), "rate_limit"),
     (("    key: {env: TEAM_A_KEY}\n", ""), "key")],
)
def test_bad_entries_are_refused_and_nothing_is_imported(db, tmp_path, monkeypatch, replace, fragment):
    monkeypatch.setenv("TEAM_A_KEY", SECRET)
    with pytest.raises(config_io.ConfigError) as caught:
        config_io.import_file(write(tmp_path, FILE.replace(*replace)))
    assert any(entry.startswith("gateway_keys[0]") and fld == fragment for entry, fld, _m in caught.value.problems), \
        caught.value.problems
    assert not GatewayKey.objects.exists() and not config_io.Provider.objects.exists()


def test_an_import_never_changes_a_secret_or_revives_a_revoked_key(db, tmp_path, monkeypatch):
    key, _raw = services.gateway_key_create(name="team-a")
    monkeypatch.setenv("TEAM_A_KEY", SECRET)
    with pytest.raises(config_io.ConfigError, match="cannot change the secret"):
        config_io.import_file(write(tmp_path))
    services.gateway_key_revoke(key=key)
    with pytest.raises(config_io.ConfigError, match="revoked"):
        config_io.import_file(write(tmp_path))


def test_dry_run_with_the_secret_missing_reports_it_and_changes_nothing(db, tmp_path, monkeypatch):
    monkeypatch.delenv("TEAM_A_KEY", raising=False)
    out = io.StringIO()
    call_command("providers", "import", write(tmp_path), "--dry-run", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert {"action": "create", "name": "team-a", "fields": [], "kind": "gateway_key"} in report["changes"]
    assert any(f["field"] == "key" and "TEAM_A_KEY" in f["message"] for f in report["findings"])
    assert not GatewayKey.objects.exists()
    with pytest.raises(CommandError, match="TEAM_A_KEY"):
        call_command("providers", "import", write(tmp_path), stdout=io.StringIO())
