"""An ``anthropic`` provider gives the client the same OpenAI shapes, chunk by chunk,
as a ``custom`` provider giving the same answer (tests/fakes/openai_upstream.py)."""
from __future__ import annotations

import json

import pytest

from tests.contracts.http_api.helpers import chat_over_http
from tests.fakes.responses_upstream import shape_of


@pytest.fixture
def both(make_provider, upstream, anthropic_upstream):
    make_provider(name="custom", base_url=upstream.base_url)
    make_provider(name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url, api_key="sk-x-1234")


@pytest.mark.parametrize(("custom_model", "claude_model"), [("text", "text"), ("tools", "tools"), ("reasoning", "thinking")])
@pytest.mark.parametrize("usage", [False, True])
def test_anthropic_stream_has_the_custom_shapes_chunk_by_chunk(both, live_gateway, gateway_key, custom_model, claude_model, usage):
    ctype_a, custom = chat_over_http(live_gateway, gateway_key, f"custom/{custom_model}", stream=True, usage=usage)
    ctype_b, claude = chat_over_http(live_gateway, gateway_key, f"claude/{claude_model}", stream=True, usage=usage)
    assert ctype_a == ctype_b == "text/event-stream"
    assert [shape_of(c) for c in claude] == [shape_of(c) for c in custom]
    def deltas(chunks):
        out = []
        for c in chunks:
            delta = json.loads(json.dumps(c["choices"][0]["delta"])) if c["choices"] else None
            for call in (delta or {}).get("tool_calls") or ():
                if "id" in call:
                    call["id"] = "<id>"  # ids differ by backend (call_..., toolu_...)
            out.append(delta)
        return out

    assert deltas(claude) == deltas(custom)
    finishes = lambda cs: [c["choices"][0]["finish_reason"] for c in cs if c["choices"]]  # noqa: E731
    assert finishes(claude) == finishes(custom)
    assert len({c["id"] for c in claude}) == 1


def test_anthropic_completion_has_the_custom_shape(both, live_gateway, gateway_key):
    ctype_a, custom = chat_over_http(live_gateway, gateway_key, "custom/text", stream=False)
    ctype_b, claude = chat_over_http(live_gateway, gateway_key, "claude/text", stream=False)
    assert ctype_a == ctype_b == "application/json"
    assert shape_of(claude) == shape_of(custom)
    assert claude["choices"][0]["message"] == custom["choices"][0]["message"]


def test_anthropic_tool_completion_matches_the_custom_tool_call(both, live_gateway, gateway_key):
    _, custom = chat_over_http(live_gateway, gateway_key, "custom/tools", stream=False)
    _, claude = chat_over_http(live_gateway, gateway_key, "claude/tools", stream=False)
    custom_message, claude_message = custom["choices"][0]["message"], claude["choices"][0]["message"]
    assert claude_message["content"] is custom_message["content"] is None
    for mine, theirs in zip(claude_message["tool_calls"], custom_message["tool_calls"], strict=True):
        assert shape_of(mine) == shape_of(theirs)
        assert mine["function"]["name"] == theirs["function"]["name"]
        assert json.loads(mine["function"]["arguments"]) == json.loads(theirs["function"]["arguments"])
    assert claude["choices"][0]["finish_reason"] == custom["choices"][0]["finish_reason"] == "tool_calls"
