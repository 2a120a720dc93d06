"""The ``codex`` provider type: upstream failures reach the OpenAI SDK as OpenAI
errors (before the stream: an HTTP status; during it: an error event), never as
a silent success, and never with the provider's secret in them."""
from __future__ import annotations

import httpx
import openai
import pytest

from tests.contracts.http_api.helpers import ask, chunks_before_error, sdk_client, text_of
from tests.fakes.loopback import free_port

SECRET = "sk-codex-upstream-secret-9876"


@pytest.fixture
def codex(make_provider, responses_upstream):
    return make_provider(name="codex", provider_type="codex", base_url=responses_upstream.base_url, api_key=SECRET)


@pytest.fixture
def client(live_gateway, gateway_key):
    return sdk_client(live_gateway, gateway_key, timeout=20)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("model", "error_class", "status", "message"),
    [
        ("status-400", openai.BadRequestError, 400, "fake says 400"),
        ("status-401", openai.AuthenticationError, 401, "fake says 401"),
        ("status-429", openai.RateLimitError, 429, "fake says 429"),
        ("status-500", openai.APIStatusError, 502, "fake says 500"),
        ("detail-403", openai.PermissionDeniedError, 403, "fake detail 403"),
        ("failed", openai.APIStatusError, 502, "The model crashed"),
        ("ratelimited", openai.RateLimitError, 429, "Slow down"),
    ],
)
def test_codex_failures_before_output_have_an_http_status(codex, client, model, error_class, status, message, stream):
    with pytest.raises(error_class) as caught:
        ask(client, f"codex/{model}", stream=stream)
    assert caught.value.status_code == status
    assert message in caught.value.message
    assert set(caught.value.body) >= {"message", "type", "param", "code"}
    assert SECRET not in str(caught.value.body)


def test_codex_retry_after_is_passed_on(codex, live_gateway, gateway_key):
    resp = httpx.post(live_gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {gateway_key}"},
                      json={"model": "codex/status-429", "messages": [{"role": "user", "content": "hi"}]})
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "7"
    assert resp.json() == {"error": {"message": "fake says 429", "type": "fake_error", "param": None, "code": "fake_429"}}


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("error-event", "overloaded, try later"),
        ("premature", "closed the stream before the response was complete"),
        ("drop", "closed"),
    ],
)
def test_codex_failures_mid_stream_end_with_an_error_event(codex, client, model, message):
    received, error = chunks_before_error(client, f"codex/{model}")
    assert text_of(received) == "Partial"
    assert message in error.message


@pytest.mark.parametrize("model", ["error-event", "premature", "drop", "garbage"])
def test_codex_non_streaming_failures_are_errors_not_partial_answers(codex, client, model):
    with pytest.raises(openai.APIStatusError) as caught:
        ask(client, f"codex/{model}")
    assert caught.value.status_code == 502
    assert SECRET not in str(caught.value.body)


def test_codex_garbage_event_is_an_error(codex, live_gateway, gateway_key):
    resp = httpx.post(live_gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {gateway_key}"},
                      json={"model": "codex/garbage", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
    assert resp.status_code == 502
    assert resp.json()["error"]["code"] == "upstream_invalid_response"


def test_codex_unreachable_upstream_is_502(make_provider, client):
    make_provider(name="codex", provider_type="codex", base_url=f"http://127.0.0.1:{free_port()}/backend-api/codex",
                  api_key=SECRET)
    with pytest.raises(openai.APIStatusError) as caught:
        ask(client, "codex/text", stream=True)
    assert caught.value.status_code == 502
    assert caught.value.body["code"] == "upstream_unreachable"
