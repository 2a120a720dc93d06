"""``manage.py providers list|add|test|models``: tables for people, ``--json`` for scripts."""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from providers import services
from providers.models import Provider
from tests.conftest import free_port


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("providers", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_add_then_list(db, monkeypatch):
    monkeypatch.setenv("H_ONBOARD_ADD_KEY", "sk-added-by-command-42")
    out, _err = run("add", "local", "--base-url", "http://127.0.0.1:8000/v1", "--api-key-env", "H_ONBOARD_ADD_KEY",
                    "--model", "qwen3-8b", "--default-model", "qwen3-8b")
    assert "Provider “local” created." in out
    assert Provider.objects.get(name="local").api_key == "sk-added-by-command-42"
    out, _err = run("list", "--json")
    assert json.loads(out) == [{
        "name": "local", "display_name": "", "type": "custom", "base_url": "http://127.0.0.1:8000/v1",
        "enabled": True, "has_api_key": True, "models": ["qwen3-8b"], "default_model": "qwen3-8b",
    }]
    table, _err = run("list")
    assert "local" in table and "custom" in table and "sk-added" not in table


def test_add_refuses_bad_input_with_the_field_named(db):
    with pytest.raises(CommandError) as info:
        run("add", "bad", "--base-url", "ftp://x")
    assert "base_url: Enter an absolute http:// or https:// URL." in str(info.value)


def test_test_all_ends_with_a_table_and_fails_when_one_fails(db, upstream):
    services.provider_create(name="alive", provider_type="custom", base_url=upstream.base_url)
    services.provider_create(name="dead", provider_type="custom", base_url=f"http://127.0.0.1:{free_port()}/v1")
    services.provider_create(name="off", provider_type="custom", base_url="http://off.invalid/v1", enabled=False)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command("providers", "test", "--all", stdout=out, stderr=err)
    assert "1 of 2 providers failed the check." in str(info.value)
    table = out.getvalue()
    for heading in ("Name", "Type", "Status", "Latency", "Models"):
        assert heading in table
    assert "alive" in table and "dead" in table and "off" not in table
    assert "Connection refused" in table
    assert "Testing providers" in err.getvalue()  # the progress bar


def test_test_json(db, upstream):
    services.provider_create(name="alive", provider_type="custom", base_url=upstream.base_url)
    out, _err = run("test", "alive", "--json")
    [row] = json.loads(out)
    assert (row["name"], row["type"], row["ok"], row["model_count"]) == ("alive", "custom", True, 3)


def test_test_probe_and_apply(db, quirky):
    quirky.reject_stream_options = True
    services.provider_create(name="q", provider_type="custom", base_url=quirky.base_url)
    out, _err = run("test", "q", "--probe")
    assert "Suggested change (apply with --apply)" in out
    out, _err = run("test", "q", "--probe", "--apply", "--json")
    [report] = json.loads(out)
    assert report["applied"] is True
    assert Provider.objects.get(name="q").settings == {"drop_params": ["stream_options"]}


def test_models_lists_and_sets_the_allowlist(db, quirky):
    services.provider_create(name="q", provider_type="custom", base_url=quirky.base_url)
    out, _err = run("models", "q", "--allow", "qwen3-8b", "slow-text", "--default", "slow-text", "--json")
    body = json.loads(out)
    assert body["models"] == ["qwen3-8b", "slow-text", "llama-3.1-8b"]
    assert body["allowed_models"] == ["qwen3-8b", "slow-text"]
    assert body["default_model"] == "slow-text"
    assert Provider.objects.get(name="q").settings == {"allowed_models": ["qwen3-8b", "slow-text"], "default_model": "slow-text"}
    table, _err = run("models", "q")
    assert "llama-3.1-8b" in table and "★" in table


def test_messages_follow_the_language_option(db):
    from django.utils import translation
    from django.utils.translation import gettext

    services.provider_create(name="gone", provider_type="custom", base_url="http://gone.invalid/v1")
    for language in ("en", "vi", "zh-hans"):
        buf = io.StringIO()
        with pytest.raises(CommandError):
            call_command("providers", "--language", language, "test", "gone", "--json", stdout=buf)
        [row] = json.loads(buf.getvalue())
        with translation.override(language):
            expected = gettext("The host name “%(host)s” could not be resolved (DNS failure).") % {"host": "gone.invalid"}
        assert row["message"] == expected
