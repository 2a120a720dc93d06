"""A route's request goes to the next target on a connect error, a time-to-first-byte
timeout, 429 or 5xx, within the route's attempts and deadline, and never once a byte
went to the client; client errors go to the client unless the route says otherwise.
Answers carry the route name as ``model``; the prepared request records each attempt."""
from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from chat import gateway
from providers import routing, services
from providers.health import breaker as health
from providers.routes import services as route_services

HI = [{"role": "user", "content": "hi"}]


def route(name, *targets, **fields):
    return route_services.route_create(name=name, targets=route_services.targets_from_names(
        [{"provider": t.split("/")[0], "model": t.split("/", 1)[1], "priority": n} for n, t in enumerate(targets)]),
        **fields)


def post(live_gateway, key, model, *, stream, timeout=20):
    return httpx.post(live_gateway.url + "/v1/chat/completions", timeout=timeout,
                      headers={"Authorization": f"Bearer {key}"},
                      json={"model": model, "messages": HI, "stream": stream})


def sent_models(upstream):
    return [r.body["model"] for r in upstream.requests if r.path.endswith("/chat/completions")]


def frames(text):
    return [json.loads(f[6:]) for f in text.split("\n\n") if f.startswith("data: {")]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("failing", ["a/status-503", "a/status-429", "a/plain-500", "dead/text"])
def test_server_side_failures_fall_back_to_the_next_target(failing, stream, providers, live_gateway, gateway_key):
    route("chat-default", failing, "b/text")
    answer = post(live_gateway, gateway_key, "chat-default", stream=stream)
    assert answer.status_code == 200, answer.text
    if stream:
        chunks = frames(answer.text)
        assert {c["model"] for c in chunks} == {"chat-default"}
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
        assert text == "Hello from fake"
    else:
        assert answer.json()["model"] == "chat-default"
        assert answer.json()["choices"][0]["message"]["content"] == "Hello from fake"
    expected = [] if failing.startswith("dead") else [failing.split("/")[1]]
    assert sent_models(providers) == [*expected, "text"]


def test_a_429_cools_the_target_down_for_its_retry_after(providers, live_gateway, gateway_key):
    route("chat-default", "a/status-429", "b/text")
    assert post(live_gateway, gateway_key, "chat-default", stream=False).status_code == 200
    state = health.target_state("a/status-429")
    assert state["state"] == "cooling_down"
    assert 5 < state["cooling_down_until"] - state["last_error_at"] <= 7.01  # the fake's Retry-After: 7
    providers.requests.clear()
    assert post(live_gateway, gateway_key, "chat-default", stream=False).status_code == 200
    assert sent_models(providers) == ["text"]  # the cooling target is skipped


@pytest.mark.parametrize("status", [400, 404])
def test_client_errors_do_not_fall_back_unless_the_route_says_so(status, providers, live_gateway, gateway_key):
    route("strict", f"a/status-{status}", "b/text")
    refused = post(live_gateway, gateway_key, "strict", stream=True)
    assert refused.status_code == status
    assert refused.json()["error"]["code"] == f"fake_{status}"
    assert sent_models(providers) == [f"status-{status}"]
    assert health.target_state(f"a/status-{status}")["state"] == "healthy"  # the backend is fine

    route("lenient", f"a/status-{status}", "b/text", fallback_on_client_errors=True)
    providers.requests.clear()
    assert post(live_gateway, gateway_key, "lenient", stream=True).status_code == 200
    assert sent_models(providers) == [f"status-{status}", "text"]


def test_a_stream_that_started_is_never_retried(providers, live_gateway, gateway_key):
    route("chat-default", "a/drop", "b/text")
    answer = post(live_gateway, gateway_key, "chat-default", stream=True)
    assert answer.status_code == 200
    assert answer.text.rstrip().splitlines()[-1].startswith('data: {"error"')  # the failure ends the stream
    assert sent_models(providers) == ["drop"]


def test_a_slow_first_byte_falls_back_within_the_route_timeout(providers, live_gateway, gateway_key):
    providers.slow_seconds = 5.0
    route("chat-default", "a/slow", "b/text", first_byte_timeout=0.3)
    answer = post(live_gateway, gateway_key, "chat-default", stream=True)
    assert answer.status_code == 200
    assert {c["model"] for c in frames(answer.text)} == {"chat-default"}
    assert sent_models(providers) == ["slow", "text"]


def test_attempts_and_deadline_bound_the_fallback(providers, live_gateway, gateway_key):
    route("three", "a/status-502", "b/status-503", "dead/x", "b/text", max_attempts=2)
    failed = post(live_gateway, gateway_key, "three", stream=False)
    assert failed.status_code == 502
    assert sent_models(providers) == ["status-502", "status-503"]

    providers.slow_seconds = 5.0
    providers.requests.clear()
    route("hurry", "a/slow", "b/text", deadline_seconds=0.3)
    late = post(live_gateway, gateway_key, "hurry", stream=False)
    assert late.status_code == 504
    assert late.json()["error"]["code"] == "upstream_timeout"
    assert sent_models(providers) == ["slow"]


def test_the_prepared_request_records_every_attempt(providers, transactional_db, gateway_key):
    route("chat-default", "a/status-503", "dead/text", "b/text", max_attempts=3)

    async def run():
        snap = await routing.get_snapshot()
        key = next(iter(snap.keys.values()))
        prepared = await gateway.prepare_chat(snap, key, json.dumps({"model": "chat-default", "messages": HI,
                                                                     "stream": True}).encode())
        frames_ = [f async for f in await gateway.start_stream(prepared)]
        return prepared, frames_

    prepared, _frames = asyncio.run(run())
    assert prepared.route_name == "chat-default"
    assert [(a.target, a.outcome, a.status) for a in prepared.attempts] == [
        ("a/status-503", "server_error", 502), ("dead/text", "connect_error", 502), ("b/text", "ok", 200)]
    assert prepared.answered_by == "b/text"


def test_routes_are_listed_and_retrieved_as_models(providers, live_gateway, transactional_db):
    route("chat-default", "a/text")
    route("only-b", "b/text")
    _key, raw = services.gateway_key_create(name="only-a", providers=[services.Provider.objects.get(name="a")])
    listed = httpx.get(live_gateway.url + "/v1/models", headers={"Authorization": f"Bearer {raw}"}).json()
    ids = [m["id"] for m in listed["data"]]
    assert "chat-default" in ids and "only-b" not in ids  # a key sees a route when it may use a target
    entry = httpx.get(live_gateway.url + "/v1/models/chat-default", headers={"Authorization": f"Bearer {raw}"})
    assert entry.json() == {"id": "chat-default", "object": "model", "created": entry.json()["created"],
                            "owned_by": "gateway"}
    hidden = post(live_gateway, raw, "only-b", stream=False)
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "model_not_found"
