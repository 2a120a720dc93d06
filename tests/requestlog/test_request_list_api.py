"""``GET /api/requests/``: paginated, newest first, filtered like the admin's list
(bad filters are field errors), bodies only on the detail, and in the OpenAPI schema."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tests.requestlog.rows import make_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> Client:
    made = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    made.user_permissions.add(Permission.objects.get(codename="view_requestlog"))
    return Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=made).key}")


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [r["id"] for r in response.json()["results"]]


def test_pages_are_newest_first(api, settings):
    rows = [make_row(ago=timedelta(minutes=m)) for m in range(60, 0, -1)]  # the last made is the newest
    first = api.get("/api/requests/").json()
    assert first["count"] == 60 and len(first["results"]) == 50 and first["next"]
    assert [r["id"] for r in first["results"]][:2] == [rows[-1].pk, rows[-2].pk]
    assert len(api.get("/api/requests/", {"page": 2}).json()["results"]) == 10
    assert "request_body" not in first["results"][0]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"provider": "remote"}, ["remote"]),
        ({"key": "team-b"}, ["team-b"]),
        ({"model": "remote/big"}, ["remote"]),
        ({"model": "big"}, ["remote"]),  # the upstream model too
        ({"status_class": "5xx"}, ["remote"]),
        ({"status": "429"}, ["limited"]),
        ({"outcome": "limited"}, ["limited"]),
        ({"stream": "true"}, ["team-b"]),
        ({"stream": "false", "provider": "local", "status": "200"}, ["plain"]),
        ({"search": "timeout"}, ["remote"]),
        ({"surface": "embeddings"}, []),
    ],
)
def test_filters(api, params, expected):
    made = {
        "plain": make_row(),
        "team-b": make_row(key_name="team-b", stream=True),
        "remote": make_row(provider_name="remote", requested_model="remote/big", upstream_model="big", status=502,
                           outcome="upstream_error", error_cause="read timeout"),
        "limited": make_row(status=429, outcome="limited", error_code="rate_limit_exceeded"),
    }
    assert ids(api.get("/api/requests/", params)) == [made[name].pk for name in expected]


def test_time_window(api):
    old = make_row(ago=timedelta(days=2))
    new = make_row()
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(api.get("/api/requests/", {"since": since})) == [new.pk]
    assert ids(api.get("/api/requests/", {"until": since})) == [old.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status_class": "6xx"}, "status_class"),
        ({"status": "abc"}, "status"),
        ({"since": "yesterday"}, "since"),
        ({"stream": "maybe"}, "stream"),
        ({"provder": "x"}, "provder"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
    ],
)
def test_bad_filters_are_field_errors(api, params, field):
    response = api.get("/api/requests/", params)
    assert response.status_code == 400
    assert field in response.json()


def test_the_detail_has_the_bodies(api):
    row = make_row(request_body="question", response_body="answer")
    body = api.get(f"/api/requests/{row.pk}/").json()
    assert (body["request_body"], body["response_body"], body["request_id"]) == ("question", "answer", row.request_id)
    assert api.get("/api/requests/999999/").status_code == 404


def test_the_schema_names_the_endpoints_and_filters(admin_client):
    schema = admin_client.get("/api/schema/", {"format": "json"}).json()
    listing = schema["paths"]["/api/requests/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {
        "provider", "key", "model", "status", "status_class", "outcome", "stream", "since", "until", "search", "page"}
    assert set(schema["paths"]["/api/requests/"]) == {"get"}
    assert set(schema["paths"]["/api/requests/{id}/"]) == {"get"}
