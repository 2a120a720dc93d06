"""The request log's token counts are exactly what scripted upstreams report, on
every surface and provider type, streamed or not (a stream without
``include_usage`` included: the gateway asks for usage itself)."""
from __future__ import annotations

import pytest

from tests.requestlog.helpers import MESSAGES, chat, one_row, post


@pytest.fixture
def providers(make_provider, upstream, anthropic_upstream, responses_upstream):
    make_provider(name="local", base_url=upstream.base_url)
    make_provider(name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url,
                  api_key="sk-ant-upstream-secret-9876")
    make_provider(name="codex", provider_type="codex", base_url=responses_upstream.base_url,
                  api_key="sk-codex-upstream-secret-1234")


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("model", "tokens"),
    [
        ("local/text", (5, 3, None)),
        ("claude/claude-test", (12, 6, None)),
        ("codex/reasoning", (5, 9, 6)),
    ],
)
def test_chat_completions_usage(live_gateway, providers, gateway_key, model, tokens, stream):
    assert chat(live_gateway.url, gateway_key, model, stream=stream).status_code == 200
    row = one_row()
    assert (row.tokens_in, row.tokens_out, row.tokens_reasoning) == tokens


@pytest.mark.parametrize("stream", [False, True])
def test_native_messages_usage(live_gateway, providers, gateway_key, stream):
    body = {"model": "claude/claude-test", "max_tokens": 32, "stream": stream, "messages": MESSAGES}
    assert post(live_gateway.url, gateway_key, "/v1/messages", body).status_code == 200
    row = one_row()
    assert (row.surface, row.tokens_in, row.tokens_out) == ("messages", 12, 6)


def test_native_responses_stream_usage(live_gateway, providers, gateway_key):
    body = {"model": "codex/reasoning", "stream": True, "input": "hi"}
    assert post(live_gateway.url, gateway_key, "/v1/responses", body).status_code == 200
    row = one_row()
    assert (row.surface, row.tokens_in, row.tokens_out, row.tokens_reasoning) == ("responses", 5, 9, 6)


def test_embeddings_usage(live_gateway, providers, gateway_key):
    body = {"model": "local/emb", "input": ["one two three", "four"]}
    assert post(live_gateway.url, gateway_key, "/v1/embeddings", body).status_code == 200
    row = one_row()
    assert (row.surface, row.tokens_in, row.tokens_out) == ("embeddings", 4, None)


def test_unknown_usage_is_null_not_zero(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="quiet", base_url=upstream.base_url, settings={"drop_params": ["stream_options"]})
    assert chat(live_gateway.url, gateway_key, "quiet/text", stream=True).status_code == 200
    row = one_row()
    assert (row.tokens_in, row.tokens_out, row.tokens_reasoning) == (None, None, None)
