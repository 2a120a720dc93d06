"""Request shaping and upstream request construction for OpenAI-compatible
providers, without a network: dropped and added parameters, query string,
headers, and the body passing through otherwise unchanged."""
from __future__ import annotations

import json

from providers.adapters.base import ProviderConfig
from providers.adapters.openai_compat import DashScopeAdapter, OpenAICompatAdapter, shape_request


def config(**kwargs) -> ProviderConfig:
    defaults = dict(id=1, name="p", provider_type="custom", base_url="http://127.0.0.1:9/v1", api_key=None)
    defaults.update(kwargs)
    return ProviderConfig(**defaults)


def test_drop_params_removes_listed_parameters():
    body = {"model": "m", "stream_options": {"include_usage": True}, "reasoning_effort": "high", "messages": []}
    assert shape_request(body, {"drop_params": ["stream_options", "reasoning_effort"]}) == {"model": "m", "messages": []}


def test_extra_body_adds_without_overriding_the_client():
    body = {"model": "m", "top_k": 5, "messages": []}
    shaped = shape_request(body, {"extra_body": {"top_k": 20, "enable_thinking": False}})
    assert shaped == {"model": "m", "top_k": 5, "enable_thinking": False, "messages": []}


def test_no_settings_leaves_the_body_as_sent():
    body = {"model": "m", "messages": [{"role": "user", "content": "é"}], "vendor": {"x": [1, None]}}
    assert shape_request(body, {}) == body


def test_prepare_serialises_the_shaped_body_without_escaping_unicode():
    adapter = OpenAICompatAdapter(config(settings={"drop_params": ["seed"]}))
    raw = adapter.prepare({"model": "m", "seed": 1, "messages": [{"role": "user", "content": "xin chào 你好"}]}, stream=False)
    assert json.loads(raw) == {"model": "m", "messages": [{"role": "user", "content": "xin chào 你好"}]}
    assert "你好".encode() in raw


def test_extra_query_goes_on_every_upstream_url():
    adapter = OpenAICompatAdapter(config(settings={"extra_query": {"api-version": "2024-10-21", "x": "a b"}}))
    assert adapter.chat_url == "http://127.0.0.1:9/v1/chat/completions?api-version=2024-10-21&x=a+b"
    assert adapter.models_url == "http://127.0.0.1:9/v1/models?api-version=2024-10-21&x=a+b"


def test_bearer_only_when_the_provider_has_a_key():
    assert "Authorization" not in OpenAICompatAdapter(config()).headers
    keyed = OpenAICompatAdapter(config(api_key="sk-abc", extra_headers={"X-Org": "o"}))
    assert keyed.headers["Authorization"] == "Bearer sk-abc"
    assert keyed.headers["X-Org"] == "o"


def test_adapter_repr_and_config_never_show_secrets():
    cfg = config(api_key="sk-very-secret", extra_headers={"X-Secret": "hdr-secret"})
    assert "sk-very-secret" not in repr(cfg)
    assert "hdr-secret" not in repr(cfg)


def test_dashscope_turns_thinking_off_for_non_streaming_calls_only():
    adapter = DashScopeAdapter(config(provider_type="dashscope"))
    assert json.loads(adapter.prepare({"model": "qwen"}, stream=False))["enable_thinking"] is False
    assert "enable_thinking" not in json.loads(adapter.prepare({"model": "qwen"}, stream=True))
    assert json.loads(adapter.prepare({"model": "qwen", "enable_thinking": True}, stream=False))["enable_thinking"] is True
