"""Tokens of a stream whose client did not ask for ``stream_options.include_usage``:
the gateway asks the upstream for them and takes the usage out again, so the
client's stream is byte for byte what it would be without the hidden request
(compared with the same provider told to drop ``stream_options``, as the
capability probe does for a backend that refuses it)."""
from __future__ import annotations

import json

import pytest

from tests.requestlog.helpers import chat, one_row, rows


@pytest.mark.parametrize("model", ["text", "tools", "reasoning", "groq", "crlf", "packed", "split"])
def test_client_stream_is_byte_identical_with_and_without_the_hidden_usage_request(
    live_gateway, make_provider, upstream, gateway_key, model
):
    make_provider(name="hidden", base_url=upstream.base_url)
    make_provider(name="plain", base_url=upstream.base_url, settings={"drop_params": ["stream_options"]})

    hidden = chat(live_gateway.url, gateway_key, f"hidden/{model}", stream=True)
    plain = chat(live_gateway.url, gateway_key, f"plain/{model}", stream=True)

    assert hidden.status_code == plain.status_code == 200
    assert hidden.content.replace(b"hidden/", b"plain/") == plain.content
    sent = [r.body for r in upstream.requests]
    assert sent[0]["stream_options"] == {"include_usage": True}  # asked for the log only
    assert "stream_options" not in sent[1]

    by_provider = {r.provider_name: r for r in rows(2)}
    if model != "groq":  # Groq reports usage in its own member, asked or not
        assert (by_provider["hidden"].tokens_in, by_provider["hidden"].tokens_out) == (5, 3)
        assert (by_provider["plain"].tokens_in, by_provider["plain"].tokens_out) == (None, None)  # unknown, not 0


def test_a_client_that_asks_for_usage_gets_it_and_the_log_has_it(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url)
    resp = chat(live_gateway.url, gateway_key, "local/text", stream=True, stream_options={"include_usage": True})
    events = [json.loads(e[6:]) for e in resp.text.split("\n\n") if e.startswith("data: {")]
    assert events[-1]["usage"] == {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
    row = one_row()
    assert (row.tokens_in, row.tokens_out) == (5, 3)


def test_an_explicit_no_keeps_its_other_options(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url)
    plain = chat(live_gateway.url, gateway_key, "local/text", stream=True)
    resp = chat(live_gateway.url, gateway_key, "local/text", stream=True, stream_options={"include_usage": False})
    assert resp.content == plain.content
    assert upstream.requests[-1].body["stream_options"] == {"include_usage": True}
    assert [r.tokens_out for r in rows(2)] == [3, 3]
