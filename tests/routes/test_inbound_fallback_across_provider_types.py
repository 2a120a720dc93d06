"""A route's targets may be of different provider types, and each attempt of an inbound
request speaks its target's own wire: on ``/v1/messages`` a failing ``custom`` target
(the request translated to chat completions) hands the request to an ``anthropic``
one, which gets it and answers natively, relayed as is but for the route name as
``model``; the other way round the ``custom`` target's chat answer is translated back.
The same holds for ``/v1/responses`` and a ``codex`` target, and for the gateway's
own per-provider concurrency cap. The client always sees its surface's shape."""
from __future__ import annotations

import httpx
import pytest

from chat import limits
from providers.health import breaker as health
from tests.requestlog.helpers import one_row

from .inbound_helpers import events, good_answer, route

pytestmark = pytest.mark.usefixtures("fresh_request_log")

HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def mixed(make_provider, upstream, anthropic_upstream, responses_upstream):
    make_provider(name="local", base_url=upstream.base_url)
    make_provider(name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url,
                  api_key="sk-ant-upstream-secret-6666", settings={"max_concurrency": 1, "read_timeout": 30.0})
    make_provider(name="codex", provider_type="codex", base_url=responses_upstream.base_url, api_key="sk-codex-7777")
    return upstream, anthropic_upstream, responses_upstream


def messages(base: str, key: str, model: str, *, stream: bool) -> httpx.Response:
    return httpx.post(base + "/v1/messages", timeout=20,
                      headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
                      json={"model": model, "max_tokens": 50, "stream": stream, "messages": HI})


def chat_models(upstream) -> list[str]:
    return [r.body["model"] for r in upstream.requests if r.path == "/v1/chat/completions"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_messages_fall_back_from_custom_to_anthropic_natively(stream, mixed, door, gateway_key):
    upstream, claude, _codex = mixed
    route("chat-default", "local/status-503", "claude/text")
    answer = messages(door, gateway_key, "chat-default", stream=stream)
    direct = messages(door, gateway_key, "claude/text", stream=stream)
    assert answer.status_code == direct.status_code == 200, answer.text
    # The anthropic backend's own answer, byte for byte but for the model id.
    if stream:
        assert answer.text.replace('"model":"chat-default"', '"model":"claude/text"') == direct.text
        assert events(answer.text)[0][1]["message"]["model"] == "chat-default"
    else:
        assert answer.json() == {**direct.json(), "model": "chat-default"}
        assert answer.json()["id"] == "msg_fake01"  # the fake's own id: nothing was translated
    # The custom target got the chat completions translation, the anthropic one the request as sent.
    assert chat_models(upstream) == ["status-503"]
    assert upstream.requests[0].body["messages"] == [{"role": "user", "content": "hi"}]
    native = claude.message_requests()[0].body
    assert native == {"model": "text", "max_tokens": 50, "stream": stream, "messages": HI}
    row = one_row(surface="messages", requested_model="chat-default")
    assert (row.route, row.attempts, row.status, row.outcome) == ("chat-default", 2, 200, "ok")
    assert (row.provider_name, row.provider_type, row.upstream_model) == ("claude", "anthropic", "text")
    assert (row.tokens_in, row.tokens_out) == (12, 6)  # the native answer's usage


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_messages_fall_back_from_anthropic_to_custom_translated(stream, mixed, live_gateway, gateway_key):
    upstream, claude, _codex = mixed
    route("chat-default", "claude/status-529", "local/text")
    answer = messages(live_gateway.url, gateway_key, "chat-default", stream=stream)
    good_answer("messages-stream" if stream else "messages", answer, "chat-default")
    assert [r.body["model"] for r in claude.message_requests()] == ["status-529"]
    assert chat_models(upstream) == ["text"]
    row = one_row(surface="messages")
    assert (row.route, row.attempts, row.provider_name, row.provider_type) == ("chat-default", 2, "local", "custom")


def test_the_gateways_own_concurrency_cap_falls_back_without_hurting_health(mixed, live_gateway, gateway_key):
    upstream, _claude, _codex = mixed
    route("chat-default", "claude/text", "local/text")
    headers = {"x-api-key": gateway_key, "anthropic-version": "2023-06-01"}
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        body = {"model": "claude/stall", "max_tokens": 50, "stream": True, "messages": HI}
        with client.stream("POST", "/v1/messages", headers=headers, json=body) as held:
            chunks = held.iter_bytes()  # kept: a dropped iterator would close the stream
            next(chunks)
            assert limits.in_flight("claude") == 1  # claude's one slot is taken
            answer = messages(live_gateway.url, gateway_key, "chat-default", stream=False)
    good_answer("messages", answer, "chat-default")
    assert chat_models(upstream) == ["text"]
    assert health.target_state("claude/text")["last_error"] == ""  # a cap of ours, not a failing backend
    row = one_row(surface="messages", requested_model="chat-default")
    assert (row.attempts, row.provider_name) == (2, "local")


def test_a_native_stream_that_started_is_never_retried(mixed, live_gateway, gateway_key):
    upstream, claude, _codex = mixed
    route("chat-default", "claude/drop", "local/text")
    answer = messages(live_gateway.url, gateway_key, "chat-default", stream=True)
    assert answer.status_code == 200
    seen = events(answer.text)
    assert seen[0][1]["message"]["model"] == "chat-default"
    assert seen[-1][0] == "error" and seen[-1][1]["type"] == "error"
    assert [r.body["model"] for r in claude.message_requests()] == ["drop"]
    assert chat_models(upstream) == []


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_responses_fall_back_from_custom_to_codex_natively(stream, mixed, live_gateway, gateway_key):
    upstream, _claude, codex = mixed
    route("chat-default", "local/status-500", "codex/text")
    answer = httpx.post(live_gateway.url + "/v1/responses", headers={"Authorization": f"Bearer {gateway_key}"},
                        json={"model": "chat-default", "input": "hi", "stream": stream}, timeout=20)
    assert answer.status_code == 200, answer.text
    if stream:  # the codex backend's own events (its fixed ids), relayed
        good_answer("responses-stream", answer, "chat-default")
        assert {d["response"]["id"] for _name, d in events(answer.text) if "response" in d} == {"resp_fake"}
    else:  # the final response object of the backend's stream (the fake's has no output items)
        assert answer.json() == {"id": "resp_fake", "object": "response", "created_at": 1_700_000_000,
                                 "model": "chat-default", "status": "completed", "output": [],
                                 "usage": {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}}
    assert chat_models(upstream) == ["status-500"]
    assert [(r.body["model"], r.body["stream"]) for r in codex.requests] == [("text", True)]
    row = one_row(surface="responses")
    assert (row.route, row.attempts, row.provider_name, row.provider_type) == ("chat-default", 2, "codex", "codex")
