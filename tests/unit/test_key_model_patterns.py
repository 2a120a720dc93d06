"""A key's model allowlist: ``*`` matches any run of characters (slashes too),
everything else is literal; entries are cleaned and checked the same way at
every door (providers/key_controls.py)."""
from __future__ import annotations

import pytest

from providers.key_controls import MAX_PATTERNS, compile_patterns, normalise_patterns
from providers.routing import KeyInfo, key_allows_model


def key(*patterns: str) -> KeyInfo:
    return KeyInfo(id=1, name="k", provider_ids=None, rate_limit_rpm=None, rate_limit_tpm=None,
                   allowed_models=patterns)


@pytest.mark.parametrize(
    ("model", "allowed"),
    [("vllm/qwen3-8b", True), ("vllm/org/model", True), ("vllm", False), ("vllmx/a", False),
     ("chat-default", True), ("chat-default-2", False), ("openrouter/anthropic/claude-sonnet-4", True),
     ("openrouter/openai/gpt-4o", False), ("openrouter/anthropic", False)],
)
def test_patterns_match_client_facing_model_ids(model, allowed):
    k = key("vllm/*", "chat-default", "openrouter/anthropic/*")
    assert k.allows_model(model) is allowed
    assert key_allows_model(k, model) is allowed


def test_an_empty_list_allows_every_model_and_star_too():
    assert key().allows_model("anything/at-all")
    assert key("*").allows_model("x/y/z")


@pytest.mark.parametrize("model", ["a.b/c", "a+b/c", "(x)/[y]", "a?/c"])
def test_regex_characters_are_literal(model):
    assert key(model).allows_model(model)
    assert not key(model).allows_model(model.replace("/", "-"))
    assert compile_patterns([model.replace("/", "*")])(model)


def test_entries_are_trimmed_deduplicated_and_may_come_as_lines_or_commas():
    assert normalise_patterns("vllm/*\n chat-default , vllm/*\n\n") == (["vllm/*", "chat-default"], [])
    assert normalise_patterns(["a/*", " a/* ", ""]) == (["a/*"], [])
    assert normalise_patterns(None) == ([], [])


@pytest.mark.parametrize(
    "value",
    [["has space/x"], ["/leading"], ["trailing/"], ["a//b"], ["tab\there"], ["nul\x00"], ["x" * 201], [5],
     {"a": 1}, [f"p{i}/*" for i in range(MAX_PATTERNS + 1)]],
)
def test_bad_entries_are_refused_with_a_message(value):
    _patterns, errors = normalise_patterns(value)
    assert errors and all(isinstance(e, str) and e for e in errors)
