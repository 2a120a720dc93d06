"""/v1/responses to a ``codex`` provider passes the request through untranslated
(tools of any kind included) and relays the backend's Responses stream as is; a
non-streaming client gets the stream's final ``response`` object."""
from __future__ import annotations

import openai
import pytest

from tests.contracts.http_api.helpers import sdk_client

SECRET = "sk-codex-upstream-secret-9876"


@pytest.fixture
def codex(make_provider, responses_upstream):
    make_provider(name="codex", provider_type="codex", base_url=responses_upstream.base_url, api_key=SECRET)
    return responses_upstream


@pytest.fixture
def client(live_gateway, gateway_key):
    with sdk_client(live_gateway, gateway_key, timeout=20) as sdk:
        yield sdk


def test_stream_is_relayed_untranslated(client, codex):
    tools = [{"type": "local_shell"}]  # a tool only a Responses backend knows: not refused, not translated
    events = list(client.responses.create(model="codex/tools", input="hi", tools=tools, stream=True, store=False))
    assert [e.type for e in events][-1] == "response.completed"
    assert [e.delta for e in events if e.type == "response.function_call_arguments.delta"] == ['{"city": ', '"Hanoi"}']
    seen = codex.last()
    assert seen.body == {"model": "tools", "input": "hi", "tools": tools, "stream": True, "store": False}
    assert seen.headers["authorization"] == f"Bearer {SECRET}"


def test_non_stream_answer_is_the_final_response(client, codex):
    response = client.responses.create(model="codex/text", input="hi")
    assert response.id == "resp_fake" and response.status == "completed" and response.usage.total_tokens == 8
    assert codex.last().body["stream"] is True


def test_failed_response_and_stored_state(client, codex):
    with pytest.raises(openai.RateLimitError):
        client.responses.create(model="codex/ratelimited", input="hi")
    with pytest.raises(openai.BadRequestError) as info:
        client.responses.create(model="codex/text", input="hi", previous_response_id="resp_1")
    assert info.value.code == "stored_state_unsupported"
