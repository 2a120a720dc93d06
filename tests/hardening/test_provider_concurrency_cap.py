"""A provider's ``max_concurrency`` answers 429 at once instead of queueing, and
the slot comes back when a stream ends, however it ends."""
from __future__ import annotations

import json

import httpx

from chat import limits
from tests.conftest import wait_until


def test_request_over_the_cap_gets_429_and_the_slot_is_released(live_gateway, faulty, make_provider, gateway_key):
    make_provider(name="capped", base_url=faulty.base_url, settings={"max_concurrency": 1, "read_timeout": 30.0})
    headers = {"Authorization": f"Bearer {gateway_key}"}
    body = {"model": "capped/stall-mid", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        with client.stream("POST", "/v1/chat/completions", headers=headers, json=body) as held:
            assert held.status_code == 200
            chunks = held.iter_bytes()  # kept referenced: dropping it would close the stream
            next(chunks)  # the stream is under way and holds the only slot
            assert limits.in_flight("capped") == 1
            over = client.post("/v1/chat/completions", headers=headers, json={**body, "model": "capped/ok"})
            assert over.status_code == 429
            assert over.headers["retry-after"] == "1"
            assert over.json() == {
                "error": {
                    "message": over.json()["error"]["message"],
                    "type": "rate_limit_error",
                    "param": None,
                    "code": "concurrency_limit_exceeded",
                }
            }
        # The client went away mid-stream: the slot and the upstream socket are freed.
        assert wait_until(lambda: limits.in_flight("capped") == 0)
        assert wait_until(lambda: faulty.open_connections == 0)
        again = client.post("/v1/chat/completions", headers=headers, json={**body, "model": "capped/ok"})
    assert again.status_code == 200
    events = [b[6:] for b in again.text.split("\n\n") if b.startswith("data: ")]
    assert events[-1] == "[DONE]" and json.loads(events[0])["object"] == "chat.completion.chunk"
    assert limits.in_flight("capped") == 0


def test_failed_requests_release_their_slot(live_gateway, faulty, make_provider, gateway_key):
    make_provider(name="capped", base_url=faulty.base_url, settings={"max_concurrency": 2})
    headers = {"Authorization": f"Bearer {gateway_key}"}
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        for model, stream in [("status-500", True), ("status-500", False), ("reset", True), ("garbage", False)]:
            resp = client.post("/v1/chat/completions", headers=headers,
                               json={"model": f"capped/{model}", "stream": stream, "messages": []})
            assert resp.status_code == 502
    assert limits.in_flight("capped") == 0
