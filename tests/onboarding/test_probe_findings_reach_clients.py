"""Applying the probe's findings fixes what clients get: a backend that rejects
``stream_options`` fails a client's streamed request until the finding is applied."""
from __future__ import annotations

import httpx

from providers import services
from providers.onboarding import probe


def _stream(gateway_url: str, key: str) -> httpx.Response:
    with httpx.Client(base_url=gateway_url, timeout=10) as client:
        response = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json={
            "model": "quirky/qwen3-8b", "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "hi"}],
        })
        response.read()
        return response


def test_applied_findings_make_client_streams_work(live_gateway, quirky, gateway_key):
    quirky.reject_stream_options = True
    provider = services.provider_create(name="quirky", provider_type="custom", base_url=quirky.base_url)

    before = _stream(live_gateway.url, gateway_key)
    assert before.status_code == 400
    assert "stream_options" in before.json()["error"]["message"]

    report = probe.probe_provider(provider)
    probe.apply_suggestions(provider, report.suggestions())

    after = _stream(live_gateway.url, gateway_key)
    assert after.status_code == 200
    events = [line[6:] for line in after.text.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    assert "stream_options" not in quirky.requests[-1]
