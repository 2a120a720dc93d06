"""A ``codex`` provider gives the client the same OpenAI shapes, chunk by chunk,
as a ``custom`` provider giving the same answer."""
from __future__ import annotations

import pytest

from tests.contracts.http_api.helpers import chat_over_http
from tests.fakes.responses_upstream import shape_of


@pytest.fixture
def both(make_provider, upstream, responses_upstream):
    make_provider(name="custom", base_url=upstream.base_url)
    make_provider(name="codex", provider_type="codex", base_url=responses_upstream.base_url, api_key="sk-x")


@pytest.mark.parametrize("model", ["text", "tools", "reasoning"])
def test_codex_stream_has_the_custom_shapes_chunk_by_chunk(both, live_gateway, gateway_key, model):
    ctype_a, custom = chat_over_http(live_gateway, gateway_key, f"custom/{model}", stream=True, usage=model == "text")
    ctype_b, codex = chat_over_http(live_gateway, gateway_key, f"codex/{model}", stream=True, usage=model == "text")
    assert ctype_a == ctype_b == "text/event-stream"
    assert [shape_of(c) for c in codex] == [shape_of(c) for c in custom]
    # and the same content, field by field, apart from ids and timestamps
    strip = lambda cs: [c.get("choices") and c["choices"][0]["delta"] for c in cs]  # noqa: E731
    assert strip(codex) == strip(custom)
    assert [c["choices"][0]["finish_reason"] for c in codex if c["choices"]] == [
        c["choices"][0]["finish_reason"] for c in custom if c["choices"]
    ]


def test_codex_completion_has_the_custom_shape(both, live_gateway, gateway_key):
    ctype_a, custom = chat_over_http(live_gateway, gateway_key, "custom/text", stream=False)
    ctype_b, codex = chat_over_http(live_gateway, gateway_key, "codex/text", stream=False)
    assert ctype_a == ctype_b == "application/json"
    assert shape_of(codex) == shape_of(custom)
    assert codex["choices"][0]["message"] == custom["choices"][0]["message"]
    assert codex["usage"] == custom["usage"]
