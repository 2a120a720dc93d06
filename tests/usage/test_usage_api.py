"""``GET /api/usage/`` gives exact counts, sums and percentiles of a known set of rows,
grouped by provider, key or model in hour or day buckets, with totals; only staff with
``chat.view_requestlog``; bad parameters are field errors."""
from __future__ import annotations

import pytest

from tests.audit.helpers import staff

pytestmark = pytest.mark.django_db

PERIOD = {"since": "2026-11-27T10:00:00Z", "until": "2026-11-27T12:00:00Z"}


def test_totals_and_hour_buckets_by_provider(viewer):
    response = viewer.get("/api/usage/", {**PERIOD, "group": "provider", "bucket": "hour"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["totals"] == {
        "requests": 8, "errors": 2, "error_rate": 0.25, "tokens_in": 50, "tokens_out": 94, "tokens_reasoning": 0,
        "tokens_unknown": 2, "latency_p50_ms": 300, "latency_p95_ms": 1000, "ttft_p50_ms": 50, "ttft_p95_ms": 90,
    }
    assert [(b["start"], b["requests"], b["errors"], b["tokens_in"], b["latency_p50_ms"]) for b in body["buckets"]] == [
        ("2026-11-27T10:00:00Z", 5, 1, 40, 300), ("2026-11-27T11:00:00Z", 3, 1, 10, 500)]
    groups = {g["name"]: g for g in body["groups"]}
    assert list(groups) == ["alpha", "beta", ""]
    assert groups["alpha"]["totals"]["latency_p95_ms"] == 1000
    assert groups["alpha"]["totals"]["latency_p50_ms"] == 300
    assert groups["beta"]["totals"] | {} == {
        "requests": 2, "errors": 0, "error_rate": 0.0, "tokens_in": 10, "tokens_out": 14, "tokens_reasoning": 0,
        "tokens_unknown": 0, "latency_p50_ms": 500, "latency_p95_ms": 700, "ttft_p50_ms": 80, "ttft_p95_ms": 90}
    assert [b["requests"] for b in groups["beta"]["buckets"]] == [0, 2]
    assert body["sampled"] is False


def test_by_key_and_day(viewer):
    body = viewer.get("/api/usage/", {"since": "2026-11-27T00:00:00Z", "until": "2026-11-28T00:00:00Z",
                                      "group": "key", "bucket": "day"}).json()
    assert [b["requests"] for b in body["buckets"]] == [10]
    assert {g["name"]: g["totals"]["requests"] for g in body["groups"]} == {"team-a": 7, "team-b": 3}


def test_by_model_with_a_filter(viewer):
    body = viewer.get("/api/usage/", {**PERIOD, "group": "model", "key": "team-b"}).json()
    assert [(g["name"], g["totals"]["requests"], g["totals"]["errors"]) for g in body["groups"]] == [
        ("beta/m2", 3, 1)]


def test_percentiles_are_sampled_past_the_cap_and_counts_stay_exact(viewer, settings):
    settings.GATEWAY_USAGE_SAMPLE_ROWS = 3
    body = viewer.get("/api/usage/", PERIOD).json()
    assert body["sampled"] is True
    assert body["totals"]["requests"] == 8 and body["totals"]["tokens_in"] == 50


@pytest.mark.parametrize(("params", "field"), [
    ({"group": "colour"}, "group"),
    ({"bucket": "minute"}, "bucket"),
    ({"since": "yesterday"}, "since"),
    ({"since": "2026-11-27T12:00:00Z", "until": "2026-11-27T10:00:00Z"}, "since"),
    ({"since": "2026-01-01T00:00:00Z", "until": "2026-11-27T00:00:00Z", "bucket": "hour"}, "since"),
    ({"colour": "red"}, "colour"),
])
def test_bad_parameters_are_field_errors(viewer, params, field):
    response = viewer.get("/api/usage/", params)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_staff_without_the_permission_is_refused(client, django_user_model):
    client.force_login(staff(django_user_model, "other", "view_provider", "view_gatewaykey"))
    assert client.get("/api/usage/").status_code == 403
    client.logout()
    assert client.get("/api/usage/").status_code in (401, 403)


def test_in_the_schema(admin_client):
    schema = admin_client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/usage/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"group", "bucket", "since", "until"}
    assert "400" in operation["responses"] and "403" in operation["responses"]
