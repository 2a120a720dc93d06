"""Export the catalog, import it again: the same providers come back, and a
second import changes nothing."""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from providers import services
from providers.models import Provider
from providers.onboarding import config_io

from .helpers import state


def _catalog() -> None:
    services.provider_create(
        name="local-vllm", provider_type="custom", base_url="http://127.0.0.1:8000/v1",
        api_key="sk-vllm-roundtrip-0001", settings={"models": ["qwen3-8b"], "default_model": "qwen3-8b", "direct": True},
        display_names={"en": "vLLM", "vi": "vLLM cục bộ", "zh-hans": "本地 vLLM"},
    )
    services.provider_create(
        name="router", provider_type="custom", base_url="https://openrouter.ai/api/v1",
        api_key="sk-or-roundtrip-0002", extra_headers={"X-Title": "hdr-roundtrip-0003"},
        settings={"drop_params": ["stream_options"], "allowed_models": ["a/b", "c/d"],
                  "extra_query": {"api-version": "1", "token": "tok-roundtrip-0005"}}, enabled=False,
    )
    services.provider_create(name="claude", provider_type="claude_cli",
                             settings={"command": "claude", "env": {"ANTHROPIC_API_KEY": "env-roundtrip-0004"}})


def _catalog_secrets_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variables the exported file names instead of the catalog's secrets, as the
    machine importing it would have them."""
    monkeypatch.setenv("LOCAL_VLLM_API_KEY", "sk-vllm-roundtrip-0001")
    monkeypatch.setenv("ROUTER_API_KEY", "sk-or-roundtrip-0002")
    monkeypatch.setenv("ROUTER_HEADER_X_TITLE", "hdr-roundtrip-0003")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-roundtrip-0004")
    monkeypatch.setenv("ROUTER_QUERY_TOKEN", "tok-roundtrip-0005")
    monkeypatch.setenv("ROUTER_QUERY_API_VERSION", "1")  # every query value is exported as a reference


def test_yaml_export_then_import_restores_every_provider(db, tmp_path, monkeypatch):
    _catalog()
    before = state()
    text = config_io.dump(config_io.export_document(), "yaml")
    path = tmp_path / "providers.yaml"
    path.write_text(text)
    _catalog_secrets_in_the_environment(monkeypatch)
    for provider in Provider.objects.all():
        services.provider_delete(provider=provider)

    result = config_io.import_file(str(path))

    assert [(c.action, c.name) for c in result.changes] == [("create", "claude"), ("create", "local-vllm"), ("create", "router")]
    assert result.warnings == []
    assert state() == before
    assert config_io.dump(config_io.export_document(), "yaml") == text


def test_json_round_trip_through_the_command_is_idempotent(db, tmp_path, monkeypatch):
    _catalog()
    out = io.StringIO()
    call_command("providers", "export", "--format", "json", stdout=out)
    path = tmp_path / "providers.json"
    path.write_text(out.getvalue())
    document = json.loads(out.getvalue())
    assert [p["name"] for p in document["providers"]] == ["claude", "local-vllm", "router"]
    _catalog_secrets_in_the_environment(monkeypatch)
    before = state()

    report = io.StringIO()
    call_command("providers", "import", str(path), "--json", stdout=report)

    assert json.loads(report.getvalue()) == {
        "dry_run": False,
        "changes": [{"action": "unchanged", "name": n, "fields": []} for n in ("claude", "local-vllm", "router")],
        "counts": {"create": 0, "update": 0, "delete": 0, "unchanged": 3},
        "warnings": [],
        "findings": [],
    }
    assert state() == before


def test_the_example_files_import_with_their_keys_set(db, tmp_path, monkeypatch):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "examples"
    for var in ("LITELLM_MASTER_KEY", "OPENROUTER_API_KEY", "TOGETHER_API_KEY", "GROQ_API_KEY"):
        monkeypatch.setenv(var, f"sk-example-{var.lower()}")
    monkeypatch.delenv("VLLM_API_KEY", raising=False)
    key_file = tmp_path / "fireworks_api_key"
    key_file.write_text("fw-example-key\n")
    yaml_text = (root / "providers.yaml").read_text().replace("secrets/fireworks_api_key", str(key_file))
    (tmp_path / "providers.yaml").write_text(yaml_text)
    json_text = (root / "providers.json").read_text().replace("secrets/fireworks_api_key", str(key_file))
    (tmp_path / "providers.json").write_text(json_text)

    result = config_io.import_file(str(tmp_path / "providers.yaml"))
    names = ["vllm", "lmstudio", "ollama", "litellm", "openrouter", "together", "groq", "fireworks"]
    assert [(c.action, c.name) for c in result.changes] == [("create", n) for n in names]
    assert {p.provider_type for p in Provider.objects.all()} == {"custom"}
    assert Provider.objects.get(name="groq").base_url == "https://api.groq.com/openai/v1"
    assert Provider.objects.get(name="fireworks").api_key == "fw-example-key"
    assert Provider.objects.get(name="vllm").api_key is None  # optional and not set
    assert Provider.objects.get(name="ollama").settings["models"] == ["llama3.2", "qwen2.5"]
    # The JSON example is the same catalog.
    again = config_io.import_file(str(tmp_path / "providers.json"))
    assert {c.action for c in again.changes} == {"unchanged"}
