"""A provider's settings object is validated against its type, one checker per setting."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from providers import catalog
from providers.provider_settings import checkers_for, effective_settings, validate_settings

CUSTOM = catalog.get_type("custom")
CLAUDE_CLI = catalog.get_type("claude_cli")
ANTHROPIC = catalog.get_type("anthropic")
ACP = catalog.get_type("acp")


def messages(ptype, value) -> list[str]:
    with pytest.raises(ValidationError) as info:
        validate_settings(ptype, value)
    return info.value.messages


def test_http_settings_that_fit_are_returned_unchanged():
    value = {
        "connect_timeout": 5, "read_timeout": 300.5, "verify_tls": False, "ca_bundle": "/etc/ssl/ca.pem",
        "allowed_models": ["llama3", "qwen"], "default_model": "llama3", "max_concurrency": 4,
        "drop_params": ["stream_options"], "extra_body": {"top_k": 5}, "extra_query": {"api-version": "1"},
        "retries": 0, "direct": True,
    }
    assert validate_settings(CUSTOM, value) is value


def test_none_and_empty_are_no_settings():
    assert validate_settings(CUSTOM, None) == {}
    assert validate_settings(CUSTOM, {}) == {}


def test_settings_must_be_an_object():
    assert messages(CUSTOM, ["read_timeout"]) == ["Settings must be a JSON object."]


def test_unknown_setting_names_the_valid_ones():
    [message] = messages(CUSTOM, {"command": "claude"})
    assert message.startswith("command: Unknown setting for the type “custom”. Valid settings: ")
    for key in checkers_for(CUSTOM):
        assert key in message


@pytest.mark.parametrize(
    ("setting", "value", "problem"),
    [
        ("read_timeout", 0, "Must be a positive number."),
        ("read_timeout", "30", "Must be a positive number."),
        ("connect_timeout", True, "Must be a positive number."),
        ("verify_tls", "no", "Must be true or false."),
        ("allowed_models", "llama3", "Must be a list of non-empty strings."),
        ("allowed_models", ["ok", ""], "Must be a list of non-empty strings."),
        ("default_model", "  ", "Must be a non-empty string."),
        ("max_concurrency", 0, "Must be a whole number of at least 1."),
        ("max_concurrency", 1.5, "Must be a whole number of at least 1."),
        ("retries", -1, "Must be a whole number of at least 0."),
        ("extra_query", {"a": 1}, "Must be an object whose values are strings."),
        ("extra_body", [], "Must be an object."),
    ],
)
def test_each_http_setting_is_checked(setting, value, problem):
    assert messages(CUSTOM, {setting: value}) == [f"{setting}: {problem}"]


def test_all_problems_are_reported_at_once_sorted_by_setting():
    assert messages(CUSTOM, {"verify_tls": 1, "read_timeout": -2}) == [
        "read_timeout: Must be a positive number.",
        "verify_tls: Must be true or false.",
    ]


def test_default_model_must_be_allowed():
    assert messages(CUSTOM, {"allowed_models": ["a"], "default_model": "b"}) == [
        "default_model: The default model must be one of the allowed models."
    ]
    assert validate_settings(CUSTOM, {"allowed_models": ["a"], "default_model": "a"})


def test_subprocess_types_take_command_settings_not_http_ones(allow_programs):
    allow_programs(tools=True)  # a cwd needs GATEWAY_ALLOW_AGENT_TOOLS
    value = {"command": "claude", "args": ["--verbose"], "cwd": "/tmp", "env": {"A": "b"}, "timeout": 60}
    assert validate_settings(CLAUDE_CLI, value) is value
    [message] = messages(CLAUDE_CLI, {"read_timeout": 5})
    assert message.startswith("read_timeout: Unknown setting for the type “claude_cli”.")
    assert messages(CLAUDE_CLI, {"env": {"A": 1}}) == ["env: Must be an object whose values are strings."]
    assert messages(CLAUDE_CLI, {"args": "--verbose"}) == ["args: Must be a list of non-empty strings."]


def test_type_specific_extras_belong_to_their_type_only():
    assert validate_settings(ANTHROPIC, {"anthropic_version": "2023-06-01", "default_max_tokens": 1024})
    assert messages(ANTHROPIC, {"default_max_tokens": 0}) == ["default_max_tokens: Must be a whole number of at least 1."]
    assert messages(CUSTOM, {"anthropic_version": "x"})[0].startswith("anthropic_version: Unknown setting")
    assert messages(ACP, {"permission_policy": "maybe"}) == ["permission_policy: Must be “deny” or “allow”."]


def test_messages_follow_the_active_language():
    with translation.override("vi"):
        assert messages(CUSTOM, {"read_timeout": 0}) == ["read_timeout: Phải là một số dương."]
    with translation.override("zh-hans"):
        assert messages(CUSTOM, {"read_timeout": 0}) == ["read_timeout: 必须是正数。"]


def test_effective_settings_overlay_the_type_defaults():
    assert effective_settings(ANTHROPIC, {"default_max_tokens": 10}) == {
        "anthropic_version": "2023-06-01", "default_max_tokens": 10,
    }
    assert effective_settings(CUSTOM, None) == {}
