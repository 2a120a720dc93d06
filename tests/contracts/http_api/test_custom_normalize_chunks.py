"""A ``custom`` stream passes vendor extras through as the backend sends them
(``x_groq``, ``choices: null``, ``role`` in every delta); ``normalize_chunks``
rewrites every chunk to the exact OpenAI shape, and the OpenAI SDK reads both."""
from __future__ import annotations

import json

import httpx

from tests.contracts.http_api.helpers import sdk_client

MESSAGES = [{"role": "user", "content": "hi"}]


def _chunks(url: str, key: str) -> list[dict]:
    resp = httpx.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": "groq/groq", "stream": True, "messages": MESSAGES}, timeout=20)
    assert resp.status_code == 200
    assert resp.text.endswith("data: [DONE]\n\n")
    return [json.loads(line[6:]) for line in resp.text.split("\n\n") if line.startswith("data: {")]


def test_without_the_option_vendor_extras_pass_through(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="groq", base_url=upstream.base_url)
    chunks = _chunks(live_gateway.url, gateway_key)
    assert chunks[0]["x_groq"] == {"id": "req_01"}
    assert chunks[-1]["choices"] is None
    assert [c["choices"][0]["delta"].get("role") for c in chunks[:-1]] == ["assistant"] * 4


def test_normalize_chunks_gives_the_exact_openai_shape(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="groq", base_url=upstream.base_url, settings={"normalize_chunks": True})
    chunks = _chunks(live_gateway.url, gateway_key)
    head = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": "groq/groq"}

    def choice(delta: dict, finish: str | None = None) -> dict:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

    assert chunks == [
        {**head, "choices": [choice({"role": "assistant", "content": ""})]},
        {**head, "choices": [choice({"content": "Hello"})]},
        {**head, "choices": [choice({"content": " there"})]},
        {**head, "choices": [choice({}, "stop")]},
        {**head, "choices": []},
    ]
    with sdk_client(live_gateway, gateway_key, timeout=20) as client:
        text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
            model="groq/groq", messages=MESSAGES, stream=True) if c.choices)
    assert text == "Hello there"
