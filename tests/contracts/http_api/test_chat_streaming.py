"""Streaming relay: every upstream quirk still gives the client OpenAI's chunks,
unchanged, each as ``data: {chunk}\\n\\n``, then ``data: [DONE]``."""
from __future__ import annotations

import json

import httpx
import pytest

from tests.contracts.http_api.helpers import as_requested
from tests.fakes.openai_upstream import script_for, sse_data

MESSAGES = [{"role": "user", "content": "hi"}]


def stream(gateway_url: str, key: str, body: dict) -> tuple[httpx.Response, list[str]]:
    with httpx.Client(base_url=gateway_url, timeout=20) as client:
        with client.stream(
            "POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=body
        ) as resp:
            text = resp.read().decode()
    return resp, sse_data(text) if resp.status_code == 200 else [text]


@pytest.mark.parametrize("scenario", ["text", "comments", "crlf", "nospace", "split", "packed", "no-done"])
def test_stream_relays_upstream_chunks_unchanged_whatever_the_framing(live_gateway, local, gateway_key, scenario):
    resp, events = stream(
        live_gateway.url, gateway_key, {"model": f"local/{scenario}", "stream": True, "messages": MESSAGES}
    )
    assert resp.status_code == 200
    assert events[-1] == "[DONE]"
    assert [json.loads(e) for e in events[:-1]] == as_requested(script_for(scenario, include_usage=False),
                                                                f"local/{scenario}")


def test_stream_response_headers(live_gateway, local, gateway_key):
    resp, _events = stream(live_gateway.url, gateway_key, {"model": "local/text", "stream": True, "messages": MESSAGES})
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert resp.headers["cache-control"] == "no-cache"
    assert resp.headers["x-accel-buffering"] == "no"


def test_streamed_tool_call_keeps_index_id_name_and_argument_fragments(live_gateway, local, gateway_key):
    _resp, events = stream(live_gateway.url, gateway_key, {"model": "local/tools", "stream": True, "messages": MESSAGES})
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks == as_requested(script_for("tools", include_usage=False), "local/tools")
    first = chunks[0]["choices"][0]["delta"]["tool_calls"][0]
    assert first == {"index": 0, "id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
    args = "".join(c["choices"][0]["delta"].get("tool_calls", [{}])[0].get("function", {}).get("arguments", "") for c in chunks)
    assert json.loads(args) == {"city": "Hanoi"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_usage_chunk_with_empty_choices_when_include_usage(live_gateway, local, gateway_key, upstream):
    body = {"model": "local/text", "stream": True, "stream_options": {"include_usage": True}, "messages": MESSAGES}
    _resp, events = stream(live_gateway.url, gateway_key, body)
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks == as_requested(script_for("text", include_usage=True), "local/text")
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
    assert upstream.last().body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(("scenario", "field"), [("reasoning", "reasoning_content"), ("reasoning-or", "reasoning")])
def test_reasoning_fields_pass_through_untouched(live_gateway, local, gateway_key, scenario, field):
    _resp, events = stream(live_gateway.url, gateway_key, {"model": f"local/{scenario}", "stream": True, "messages": MESSAGES})
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks == as_requested(script_for(scenario, include_usage=False), f"local/{scenario}")
    assert "".join(c["choices"][0]["delta"].get(field, "") for c in chunks) == "Let me think carefully."


def test_upstream_ids_with_slashes_stream(live_gateway, local, gateway_key, upstream):
    _resp, events = stream(
        live_gateway.url, gateway_key, {"model": "local/meta-llama/Llama-3-8B", "stream": True, "messages": MESSAGES}
    )
    assert upstream.last().body["model"] == "meta-llama/Llama-3-8B"
    assert events[-1] == "[DONE]"
    assert json.loads(events[0])["model"] == "local/meta-llama/Llama-3-8B"  # the id the client used


@pytest.mark.parametrize("include_usage", [False, True])
def test_a_completion_answered_to_a_streaming_request_is_reframed_as_chunks(
    live_gateway, local, gateway_key, include_usage
):
    body = {"model": "local/ignores-stream", "stream": True, "messages": MESSAGES}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    resp, events = stream(live_gateway.url, gateway_key, body)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    head = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": "local/ignores-stream"}
    expected = [
        {**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hello from fake"},
                              "logprobs": None, "finish_reason": None}]},
        {**head, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]},
    ]
    if include_usage:
        expected.append({**head, "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}})
    assert chunks == expected
