import json

import httpx


def test_custom_provider_streams_openai_chunks(live_gateway, upstream, make_provider, gateway_key):
    make_provider(name="local", base_url=upstream.base_url, api_key="sk-upstream-secret-1234")
    with httpx.Client(base_url=live_gateway.url, timeout=10) as client:
        with client.stream(
            "POST", "/v1/chat/completions",
            headers={"Authorization": f"Bearer {gateway_key}"},
            json={"model": "local/text", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
        ) as resp:
            assert resp.status_code == 200, resp.read()
            body = resp.read().decode()
    events = [line[6:] for line in body.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1])
    assert text == "Hello from fake"
    assert upstream.last().headers["authorization"] == "Bearer sk-upstream-secret-1234"
    assert upstream.last().body["model"] == "text"
