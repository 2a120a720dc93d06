"""Secrets come from the environment or from files, inline only with a warning,
and never appear in an export."""
from __future__ import annotations

import io
import logging

from django.core.management import call_command

from providers import services
from providers.models import Provider
from providers.onboarding import config_io

SECRETS = ("sk-live-EXPORTSECRET-1", "hdr-EXPORTSECRET-2", "env-EXPORTSECRET-3", "query-EXPORTSECRET-4")


def test_exports_never_contain_a_secret(db, caplog):
    caplog.set_level(logging.DEBUG)
    services.provider_create(name="cloud", provider_type="custom", base_url="https://api.example.com/v1",
                             api_key=SECRETS[0], extra_headers={"X-Api-Key": SECRETS[1]},
                             settings={"extra_query": {"api-version": "2024-10-21", "key": SECRETS[3]}})
    services.provider_create(name="cli", provider_type="claude_cli", settings={"env": {"ANTHROPIC_API_KEY": SECRETS[2]}})
    outputs = [config_io.dump(config_io.export_document(), fmt) for fmt in ("yaml", "json")]
    for args in (("export",), ("export", "--json"), ("list",), ("list", "--json")):
        out, err = io.StringIO(), io.StringIO()
        call_command("providers", *args, stdout=out, stderr=err)
        outputs += [out.getvalue(), err.getvalue()]
    outputs.append(caplog.text)
    for text in outputs:
        for secret in SECRETS:
            assert secret not in text
    document = config_io.export_document()
    cloud = document["providers"][1]
    assert cloud["api_key"] == {"env": "CLOUD_API_KEY"}
    assert cloud["extra_headers"] == {"X-Api-Key": {"env": "CLOUD_HEADER_X_API_KEY"}}
    assert cloud["settings"]["extra_query"] == {"api-version": {"env": "CLOUD_QUERY_API_VERSION"},
                                                "key": {"env": "CLOUD_QUERY_KEY"}}
    assert document["providers"][0]["settings"]["env"] == {"ANTHROPIC_API_KEY": {"env": "ANTHROPIC_API_KEY"}}


def _write(tmp_path, body: str) -> str:
    path = tmp_path / "p.yaml"
    path.write_text("providers:\n" + body)
    return str(path)


def test_keys_by_env_and_by_file_reference(db, tmp_path, monkeypatch):
    monkeypatch.setenv("H_ONBOARD_KEY", "sk-from-env-123456")
    (tmp_path / "key.txt").write_text("sk-from-file-654321\n")
    path = _write(tmp_path, (
        "  - {name: a, type: custom, base_url: 'http://127.0.0.1:1/v1', api_key: {env: H_ONBOARD_KEY}}\n"
        "  - {name: b, type: custom, base_url: 'http://127.0.0.1:1/v1', api_key: {file: key.txt},"
        " extra_headers: {X-Token: {env: H_ONBOARD_KEY}}}\n"
    ))
    result = config_io.import_file(path)
    assert result.warnings == []
    assert Provider.objects.get(name="a").api_key == "sk-from-env-123456"
    b = Provider.objects.get(name="b")
    assert b.api_key == "sk-from-file-654321"
    assert b.extra_headers == {"X-Token": "sk-from-env-123456"}


def test_an_inline_key_is_accepted_with_a_warning(db, tmp_path):
    path = _write(tmp_path, "  - {name: a, type: custom, base_url: 'http://127.0.0.1:1/v1', api_key: sk-inline-777777}\n")
    out, err = io.StringIO(), io.StringIO()
    call_command("providers", "import", path, stdout=out, stderr=err)
    assert "the secret is written inline in the file" in out.getvalue()
    assert "sk-inline-777777" not in out.getvalue() + err.getvalue()
    assert Provider.objects.get(name="a").api_key == "sk-inline-777777"

    result = config_io.import_file(path, allow_inline=True)
    assert result.warnings == []


def test_a_left_out_key_is_kept_and_null_removes_it(db, tmp_path):
    services.provider_create(name="a", provider_type="custom", base_url="http://127.0.0.1:1/v1", api_key="sk-stored-999999")
    config_io.import_file(_write(tmp_path, "  - {name: a, type: custom, base_url: 'http://127.0.0.1:1/v1'}\n"))
    assert Provider.objects.get(name="a").api_key == "sk-stored-999999"
    result = config_io.import_file(_write(tmp_path, "  - {name: a, type: custom, base_url: 'http://127.0.0.1:1/v1', api_key: null}\n"))
    assert [c.as_dict() for c in result.changes] == [{"action": "update", "name": "a", "fields": ["api_key"]}]
    assert Provider.objects.get(name="a").api_key is None


def test_an_optional_reference_that_is_missing_registers_without_a_key(db, tmp_path, monkeypatch):
    monkeypatch.delenv("H_ONBOARD_MISSING", raising=False)
    config_io.import_file(_write(tmp_path, (
        "  - {name: a, type: custom, base_url: 'http://127.0.0.1:1/v1', api_key: {env: H_ONBOARD_MISSING, optional: true}}\n"
    )))
    assert Provider.objects.get(name="a").api_key is None
