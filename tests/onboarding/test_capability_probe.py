"""The capability checklist against a backend with every quirk, and against one
with none; applying the findings changes the provider's request shaping."""
from __future__ import annotations

from providers import services
from providers.onboarding import probe


def _statuses(report: probe.ProbeReport) -> dict[str, tuple[str, str]]:
    return {i.key: (i.status, i.cause) for i in report.items}


def test_a_well_behaved_backend_passes_every_check(db, quirky):
    provider = services.provider_create(name="good", provider_type="custom", base_url=quirky.base_url)
    report = probe.probe_provider(provider)
    assert report.model == "qwen3-8b"  # first model /models reports
    assert _statuses(report) == {
        "models": ("ok", "models_ok"),
        "stream": ("ok", "stream_ok"),
        "stream_usage": ("ok", "usage_ok"),
        "tool_index": ("ok", "tools_ok"),
        "reasoning": ("ok", "reasoning_content"),
        "max_tokens": ("ok", "max_tokens_ok"),
    }
    assert report.suggestions() == {}
    # One small request per check, each with a small token limit.
    assert all(r.get("max_tokens", 0) <= 64 for r in quirky.requests)
    assert len(quirky.requests) == 3


def test_a_quirky_backend_gets_warnings_and_fixes(db, quirky):
    quirky.reject_stream_options = True
    quirky.tool_index = False
    quirky.reasoning_field = "reasoning"
    quirky.require_max_completion_tokens = True
    provider = services.provider_create(name="quirky", provider_type="custom", base_url=quirky.base_url,
                                        settings={"default_model": "llama-3.1-8b"})
    report = probe.probe_provider(provider)
    assert report.model == "llama-3.1-8b"  # the default model wins
    assert _statuses(report) == {
        "models": ("ok", "models_ok"),
        "stream": ("ok", "stream_ok"),
        "stream_usage": ("warn", "usage_rejected"),
        "tool_index": ("warn", "tools_no_index"),
        "reasoning": ("warn", "reasoning_rename"),
        "max_tokens": ("warn", "max_completion_tokens_rename"),
    }
    assert report.suggestions() == {"settings": {
        "drop_params": ["stream_options"], "reasoning_field": "reasoning_content",
        "rename_params": {"max_tokens": "max_completion_tokens"}}}
    messages = {i.key: i.message() for i in report.items}
    assert messages["stream_usage"] == "The backend rejects stream_options (HTTP 400); drop it from requests."

    probe.apply_suggestions(provider, report.suggestions())
    provider.refresh_from_db()
    assert provider.settings == {"default_model": "llama-3.1-8b", "drop_params": ["stream_options"],
                                 "reasoning_field": "reasoning_content",
                                 "rename_params": {"max_tokens": "max_completion_tokens"}}

    # With the shaping applied the backend no longer fails: nothing more to suggest.
    quirky.requests.clear()
    again = probe.probe_provider(provider)
    assert again.suggestions() == {}
    assert _statuses(again)["stream_usage"] == ("warn", "usage_missing")
    assert _statuses(again)["reasoning"] == ("ok", "reasoning_renamed")
    # max_tokens renamed, not dropped: every request still carries its cap.
    assert quirky.requests and all("max_tokens" not in r and r["max_completion_tokens"] <= 64 for r in quirky.requests)
    assert _statuses(again)["max_tokens"][0] == "ok"


def test_an_unreachable_backend_skips_the_chat_checks(db):
    provider = services.provider_create(name="gone", provider_type="custom", base_url="http://gone.invalid/v1")
    report = probe.probe_provider(provider)
    statuses = _statuses(report)
    assert statuses["models"] == ("fail", "dns")
    assert {statuses[k][0] for k in ("stream", "stream_usage", "tool_index", "reasoning", "max_tokens")} == {"skip"}


def test_the_probe_through_the_api(db, quirky):
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    quirky.reject_stream_options = True
    provider = services.provider_create(name="quirky", provider_type="custom", base_url=quirky.base_url)
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_superuser("ops", "o@example.com", "pw-12345-long"))
    body = client.post(f"/api/providers/{provider.pk}/test/", {"probe": True}, format="json").json()
    assert body["ok"] is True
    assert [i["key"] for i in body["probe"]["items"]] == [
        "models", "stream", "stream_usage", "tool_index", "reasoning", "max_tokens"]
    assert body["probe"]["suggestions"] == {"settings": {"drop_params": ["stream_options"]}}


def test_an_upstream_that_echoes_the_key_never_shows_it(db, quirky):
    from aiohttp import web

    secret = "sk-echoed-back-SECRET-4242"

    async def echo(request):
        return web.json_response({"error": {"message": f"Model not allowed for key {secret}"}}, status=403)

    quirky.chat = echo  # the bound handler is looked up at start, so restart with the new one
    quirky.stop()
    quirky.start()
    provider = services.provider_create(name="echo", provider_type="custom", base_url=quirky.base_url, api_key=secret)
    report = probe.probe_provider(provider)
    stream = next(i for i in report.items if i.key == "stream")
    assert stream.status == "fail"
    assert stream.message() == "A streamed chat with qwen3-8b failed with HTTP 403: Model not allowed for key ***"
    assert secret not in str(report.as_dict())
