"""The provider catalog: one table that model choices, the admin and the API all read."""
from __future__ import annotations

import pytest
from django.utils import translation

from providers import catalog
from providers.adapters.openai_compat import OpenAICompatAdapter
from providers.models import Provider

EXPECTED_TYPES = ["custom", "openai", "anthropic", "dashscope", "claude_cli", "acp", "codex"]


def test_catalog_holds_every_provider_type_once():
    assert sorted(catalog.type_keys()) == sorted(EXPECTED_TYPES)
    for key, row in catalog.PROVIDER_TYPES.items():
        assert row.key == key
        assert row.adapter.startswith("providers.adapters.")
        assert str(row.label) and str(row.description)


@pytest.mark.parametrize(
    ("language", "label"),
    [("en", "Custom Provider"), ("vi", "Nhà cung cấp tùy chỉnh"), ("zh-hans", "自定义提供商")],
)
def test_custom_label_is_translated_exactly(language, label):
    with translation.override(language):
        assert str(catalog.get_type("custom").label) == label
        assert dict(catalog.type_choices())["custom"] == label


@pytest.mark.parametrize("language", ["vi", "zh-hans"])
def test_every_label_with_words_is_translated(language):
    # Brand names (OpenAI, Anthropic, Claude Code CLI) may stay as they are; descriptions never.
    with translation.override(language):
        for row in catalog.PROVIDER_TYPES.values():
            with translation.override("en"):
                english = str(row.description)
            assert str(row.description) != english, row.key


def test_custom_needs_a_base_url_and_takes_an_optional_key():
    custom = catalog.get_type("custom")
    assert custom.transport == "http"
    assert custom.requires_base_url and custom.uses_base_url
    assert custom.default_base_url == ""
    assert custom.accepts_api_key and not custom.requires_api_key
    assert catalog.adapter_class("custom") is OpenAICompatAdapter


def test_hosted_types_have_defaults_and_need_a_key():
    for key in ("openai", "anthropic", "dashscope", "codex"):
        row = catalog.get_type(key)
        assert row.default_base_url.startswith("https://"), key
        assert not row.requires_base_url and row.requires_api_key, key


def test_subprocess_types_take_no_base_url():
    for key in ("claude_cli", "acp"):
        row = catalog.get_type(key)
        assert row.transport == "subprocess" and not row.uses_base_url, key


def test_model_choices_are_the_catalog_in_order():
    field = Provider._meta.get_field("provider_type")
    assert [value for value, _label in field.choices] == catalog.type_keys() == EXPECTED_TYPES


def test_unknown_type_is_a_key_error():
    with pytest.raises(KeyError):
        catalog.get_type("nope")
