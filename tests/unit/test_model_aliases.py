"""GATEWAY_MODEL_ALIASES: JSON object or ``pattern=target`` list, fnmatch patterns
in order, first match wins; bad values refuse to start; chat completions resolve
through it too (one place for every /v1 surface)."""
from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from chat import aliases


def test_comma_list_first_match_wins(settings):
    settings.GATEWAY_MODEL_ALIASES = "claude-*haiku*=local/small, claude-*=local/big"
    assert aliases.apply("claude-haiku-4-5-20251001") == "local/small"
    assert aliases.apply("claude-sonnet-4-5-20250929") == "local/big"
    assert aliases.apply("local/text") == "local/text"


def test_json_object(settings):
    settings.GATEWAY_MODEL_ALIASES = '{"gpt-5*": "vllm/qwen", "text-embedding-*": "local/bge"}'
    assert aliases.apply("gpt-5-codex") == "vllm/qwen"
    assert aliases.apply("text-embedding-3-small") == "local/bge"


def test_targets_may_be_a_provider_or_a_route_name(settings):
    settings.GATEWAY_MODEL_ALIASES = "claude-*haiku*=small-route,claude-*=local"
    assert aliases.apply("claude-haiku-4-5-20251001") == "small-route"
    assert aliases.apply("claude-opus-4-8") == "local"  # the provider's default model


@pytest.mark.parametrize("raw", ["claude-*", "claude-*=", "=local/x", "claude-*=local/a b", "{not json", '{"a": 1}'])
def test_bad_values_are_configuration_errors(raw):
    with pytest.raises(ImproperlyConfigured):
        aliases.parse(raw)


def test_chat_completions_resolve_through_aliases(settings, live_gateway, gateway_key, make_provider, upstream):
    import openai

    make_provider(name="local", base_url=upstream.base_url)
    settings.GATEWAY_MODEL_ALIASES = "gpt-4o*=local/text"
    client = openai.OpenAI(base_url=f"{live_gateway.url}/v1", api_key=gateway_key, max_retries=0)
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "Hello from fake"
    assert upstream.last().body["model"] == "text"
