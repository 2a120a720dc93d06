"""``reasoning_field`` gives clients one reasoning field whatever the backend
sends (vLLM/Ollama's ``reasoning`` or ``reasoning_content``), streamed and not;
``rename_params`` renames ``max_tokens`` to ``max_completion_tokens`` so the
client's cap still reaches a backend that refuses ``max_tokens``."""
from __future__ import annotations

import json

import httpx
import pytest

from tests.contracts.http_api.helpers import sdk_client

MESSAGES = [{"role": "user", "content": "?"}]


def _post(url: str, key: str, body: dict) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=body, timeout=20)


@pytest.mark.parametrize(("scenario", "target", "other"), [
    ("reasoning-or", "reasoning_content", "reasoning"), ("reasoning", "reasoning", "reasoning_content")])
def test_streamed_reasoning_arrives_under_the_chosen_name(live_gateway, make_provider, upstream, gateway_key,
                                                          scenario, target, other):
    make_provider(name="local", base_url=upstream.base_url, settings={"reasoning_field": target})
    resp = _post(live_gateway.url, gateway_key, {"model": f"local/{scenario}", "stream": True, "messages": MESSAGES})
    chunks = [json.loads(line[6:]) for line in resp.text.split("\n\n") if line.startswith("data: {")]
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert "".join(d.get(target, "") for d in deltas) == "Let me think carefully."
    assert not any(other in d for d in deltas)
    assert "".join(d.get("content") or "" for d in deltas) == "42"
    assert {c["model"] for c in chunks} == {f"local/{scenario}"}


def test_non_streamed_reasoning_arrives_under_the_chosen_name(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url, settings={"reasoning_field": "reasoning_content"})
    with sdk_client(live_gateway, gateway_key, timeout=20) as client:
        answer = client.chat.completions.create(model="local/reasoning-or", messages=MESSAGES)
    extra = answer.choices[0].message.model_extra
    assert extra.get("reasoning_content") == "Let me think carefully." and "reasoning" not in extra


def test_without_the_setting_reasoning_passes_as_sent(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url)
    body = _post(live_gateway.url, gateway_key, {"model": "local/reasoning-or", "messages": MESSAGES}).json()
    assert body["choices"][0]["message"]["reasoning"] == "Let me think carefully."


def test_max_tokens_is_renamed_not_dropped(live_gateway, make_provider, upstream, gateway_key):
    make_provider(name="local", base_url=upstream.base_url,
                  settings={"rename_params": {"max_tokens": "max_completion_tokens"}})
    assert _post(live_gateway.url, gateway_key, {"model": "local/text", "max_tokens": 7, "messages": MESSAGES}).status_code == 200
    sent = upstream.last().body
    assert sent["max_completion_tokens"] == 7 and "max_tokens" not in sent
    # A value the client set under the new name wins.
    _post(live_gateway.url, gateway_key,
          {"model": "local/text", "max_tokens": 7, "max_completion_tokens": 9, "messages": MESSAGES})
    sent = upstream.last().body
    assert sent["max_completion_tokens"] == 9 and "max_tokens" not in sent


@pytest.mark.parametrize(("settings", "field"), [
    ({"reasoning_field": "thinking"}, "reasoning_field"), ({"rename_params": ["max_tokens"]}, "rename_params")])
def test_bad_values_are_refused_by_name(db, settings, field):
    from django.core.exceptions import ValidationError

    from providers import services

    with pytest.raises(ValidationError) as caught:
        services.provider_create(name="bad", provider_type="custom", base_url="http://127.0.0.1:9/v1", settings=settings)
    assert any(m.startswith(f"{field}:") for m in caught.value.messages)
