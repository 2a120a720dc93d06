"""Model ids ``<provider>/<upstream id>``: splitting, defaults, allowlists, and
which keys may reach which provider, on an in-memory routing table (no network)."""
from __future__ import annotations

import pytest

from chat.gateway import GatewayError, resolve_target, split_model
from providers.adapters.base import ProviderConfig
from providers.routing import KeyInfo, Snapshot


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("local/text", ("local", "text")),
        ("local/meta-llama/Llama-3-8B", ("local", "meta-llama/Llama-3-8B")),
        ("or/anthropic/claude-3.5-sonnet:beta", ("or", "anthropic/claude-3.5-sonnet:beta")),
        ("local", ("local", "")),
        ("local/", ("local", "")),
        ("/text", ("", "text")),
    ],
)
def test_split_at_the_first_slash_only(model, expected):
    assert split_model(model) == expected


def config(name: str, pid: int, **settings) -> ProviderConfig:
    enabled = settings.pop("enabled", True)
    return ProviderConfig(
        id=pid, name=name, provider_type="custom", base_url="http://127.0.0.1:9/v1", api_key=None,
        settings=settings, enabled=enabled,
    )


SNAP = Snapshot(
    version=1,
    providers={
        "local": config("local", 1, default_model="llama3"),
        "strict": config("strict", 2, allowed_models=["a", "b/c"], default_model="a"),
        "off": config("off", 3, enabled=False),
        "bare": config("bare", 4),
    },
    keys={},
)
ANY_KEY = KeyInfo(id=1, name="any", provider_ids=None, rate_limit_rpm=None, rate_limit_tpm=None)
LOCAL_ONLY = KeyInfo(id=2, name="local-only", provider_ids=frozenset({1}), rate_limit_rpm=None, rate_limit_tpm=None)


@pytest.mark.parametrize(
    ("model", "provider", "upstream"),
    [
        ("local/meta-llama/Llama-3-8B", "local", "meta-llama/Llama-3-8B"),
        ("local", "local", "llama3"),
        ("local/", "local", "llama3"),
        ("strict/b/c", "strict", "b/c"),
        ("strict", "strict", "a"),
    ],
)
def test_resolves_provider_and_upstream_model(model, provider, upstream):
    route, config_, upstream_model = resolve_target(SNAP, ANY_KEY, model)
    assert route is None
    assert (config_.name, upstream_model) == (provider, upstream)
    assert SNAP.adapter(config_).config is config_


@pytest.mark.parametrize(
    ("key", "model"),
    [
        (ANY_KEY, "nowhere/x"),
        (ANY_KEY, "off/x"),
        (ANY_KEY, "strict/z"),
        (ANY_KEY, "strict/b"),
        (ANY_KEY, "bare"),
        (LOCAL_ONLY, "strict/a"),
    ],
)
def test_unreachable_models_are_404_model_not_found(key, model):
    with pytest.raises(GatewayError) as info:
        resolve_target(SNAP, key, model)
    assert info.value.status == 404
    assert info.value.code == "model_not_found"
    assert info.value.body()["error"]["param"] == "model"


@pytest.mark.parametrize("model", [None, "", "  ", 7, ["local/x"]])
def test_missing_or_non_string_model_is_400(model):
    with pytest.raises(GatewayError) as info:
        resolve_target(SNAP, ANY_KEY, model)
    assert info.value.status == 400
    assert info.value.param == "model"
