"""A route's request on the inbound surfaces (``/v1/messages`` and ``/v1/responses``,
streamed or not, ``/v1/embeddings``) goes to the next target on a connect error, a
5xx, a 429 or a slow first byte, as chat completions do, through both doors: the
client gets its own surface's answer carrying the route name, the request log row
names the route, the targets tried and the one that answered, and the failed target's
health learns of it. Client errors go to the client unless the route says otherwise;
once a byte went out nothing is retried; when every target failed, the error is in
the surface's own shape."""
from __future__ import annotations

import pytest

from providers.health import breaker as health
from tests.requestlog.helpers import one_row

from .inbound_helpers import KINDS, ask, events, good_answer, route, surface_of

pytestmark = pytest.mark.usefixtures("fresh_request_log")


def sent(upstream) -> list[str]:
    """The upstream models the fake was asked for (chat completions or embeddings)."""
    return [r.body["model"] for r in upstream.requests if r.path in ("/v1/chat/completions", "/v1/embeddings")]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("failing", ["a/status-500", "a/status-429", "dead/text"],
                         ids=["500", "429", "connection-refused"])
def test_a_failing_target_falls_back_to_the_next(failing, kind, door, providers, gateway_key):
    route("chat-default", failing, "b/text")
    good_answer(kind, ask(door, gateway_key, kind, "chat-default"), "chat-default")
    assert sent(providers) == ([] if failing.startswith("dead") else [failing.split("/")[1]]) + ["text"]
    row = one_row(surface=surface_of(kind))
    assert (row.route, row.attempts, row.status, row.outcome) == ("chat-default", 2, 200, "ok")
    assert (row.requested_model, row.provider_name, row.upstream_model) == ("chat-default", "b", "text")
    assert row.stream is kind.endswith("stream")
    assert health.target_state(failing)["last_error"]  # the failed target's health heard of it
    assert health.target_state("b/text")["last_error"] == ""


@pytest.mark.parametrize("kind", ["messages-stream", "responses-stream"])
def test_a_slow_first_byte_falls_back_within_the_route_timeout(kind, providers, live_gateway, gateway_key):
    providers.slow_seconds = 5.0
    route("chat-default", "a/slow", "b/text", first_byte_timeout=0.3)
    good_answer(kind, ask(live_gateway.url, gateway_key, kind, "chat-default"), "chat-default")
    assert sent(providers) == ["slow", "text"]
    assert one_row(surface=surface_of(kind)).attempts == 2


@pytest.mark.parametrize("kind", KINDS)
def test_client_errors_do_not_fall_back_unless_the_route_says_so(kind, providers, live_gateway, gateway_key):
    route("strict", "a/status-400", "b/text")
    refused = ask(live_gateway.url, gateway_key, kind, "strict")
    assert refused.status_code == 400
    if kind.startswith("messages"):
        assert refused.json() == {"type": "error", "error": {"type": "invalid_request_error",
                                                             "message": "fake says 400"}}
    else:
        assert refused.json() == {"error": {"message": "fake says 400", "type": "fake_error", "param": None,
                                            "code": "fake_400"}}
    assert sent(providers) == ["status-400"]
    assert health.target_state("a/status-400")["last_error"] == ""  # the backend is fine

    route("lenient", "a/status-400", "b/text", fallback_on_client_errors=True)
    providers.requests.clear()
    good_answer(kind, ask(live_gateway.url, gateway_key, kind, "lenient"), "lenient")
    assert sent(providers) == ["status-400", "text"]


def test_a_messages_stream_that_started_is_never_retried(providers, door, gateway_key):
    route("chat-default", "a/drop", "b/text")
    answer = ask(door, gateway_key, "messages-stream", "chat-default")
    assert answer.status_code == 200
    seen = events(answer.text)
    assert seen[0][1]["message"]["model"] == "chat-default"
    assert seen[-1] == ("error", {"type": "error", "error": {
        "type": "api_error", "message": "The upstream closed the connection unexpectedly."}})
    assert sent(providers) == ["drop"]
    row = one_row(surface="messages")
    assert (row.route, row.attempts, row.provider_name, row.outcome) == ("chat-default", 1, "a", "upstream_error")


def test_a_responses_stream_that_started_is_never_retried(providers, door, gateway_key):
    route("chat-default", "a/drop", "b/text")
    answer = ask(door, gateway_key, "responses-stream", "chat-default")
    assert answer.status_code == 200
    name, last = events(answer.text)[-1]
    assert (name, last["response"]["status"], last["response"]["model"]) == (
        "response.failed", "failed", "chat-default")
    assert last["response"]["error"]["code"] == "upstream_disconnected"
    assert sent(providers) == ["drop"]
    assert one_row(surface="responses").attempts == 1


@pytest.mark.parametrize("kind", KINDS)
def test_when_every_target_failed_the_error_is_in_the_surfaces_shape(kind, providers, door, gateway_key):
    route("chat-default", "a/status-503", "b/status-503")
    failed = ask(door, gateway_key, kind, "chat-default")
    message = "Upstream error (HTTP 503): fake says 503"
    if kind.startswith("messages"):  # Anthropic's status and error for an overloaded backend
        assert failed.status_code == 529
        assert failed.json() == {"type": "error", "error": {"type": "overloaded_error", "message": message}}
    else:
        assert failed.status_code == 502
        assert failed.json() == {"error": {"message": message, "type": "upstream_error", "param": None,
                                           "code": "fake_503"}}
    assert sent(providers) == ["status-503", "status-503"]
    row = one_row(surface=surface_of(kind))
    assert (row.route, row.attempts, row.status, row.outcome) == ("chat-default", 2, failed.status_code,
                                                                   "upstream_error")


@pytest.mark.parametrize("kind", KINDS)
def test_the_route_deadline_ends_the_attempts_with_a_timeout(kind, providers, live_gateway, gateway_key):
    providers.slow_seconds = 5.0
    route("hurry", "a/slow", "b/text", deadline_seconds=0.3)
    late = ask(live_gateway.url, gateway_key, kind, "hurry")
    assert late.status_code == 504
    message = "No target of the route answered in time."
    if kind.startswith("messages"):
        assert late.json() == {"type": "error", "error": {"type": "timeout_error", "message": message}}
    else:
        assert late.json() == {"error": {"message": message, "type": "timeout_error", "param": None,
                                         "code": "upstream_timeout"}}
    assert sent(providers) == ["slow"]
