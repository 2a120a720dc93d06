"""The admin's request list: filters (provider, key, model, status class, streamed,
date hierarchy), search by model or error, a read-only detail page, and a CSV
export of exactly the filtered list (formula-looking cells quoted, no bodies)."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from tests.requestlog.rows import make_row

pytestmark = pytest.mark.django_db
LIST = "admin:chat_requestlog_changelist"


@pytest.fixture
def viewer() -> Client:
    made = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    made.user_permissions.add(Permission.objects.get(codename="view_requestlog"))
    client = Client()
    client.force_login(made)
    return client


@pytest.fixture
def sample() -> dict[str, int]:
    return {
        "ok": make_row(requested_model="local/text").pk,
        "stream": make_row(requested_model="local/tools", stream=True, key_name="team-b").pk,
        "upstream": make_row(provider_name="remote", requested_model="remote/big", status=502,
                             outcome="upstream_error", error_code="upstream_timeout", error_cause="read timeout").pk,
        "limited": make_row(status=429, outcome="limited", error_code="rate_limit_exceeded").pk,
        "old": make_row(ago=timedelta(days=3), requested_model="=cmd|' /C calc'!A0").pk,
    }


def listed(client: Client, **params: str) -> set[int]:
    response = client.get(reverse(LIST), params)
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def exported(client: Client, **params: str) -> list[dict[str, str]]:
    response = client.get(reverse("admin:chat_requestlog_export"), params)
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"provider": "remote"}, {"upstream"}),
        ({"key": "team-b"}, {"stream"}),
        ({"model": "local/tools"}, {"stream"}),
        ({"status_class": "4xx"}, {"limited"}),
        ({"status_class": "5xx"}, {"upstream"}),
        ({"stream__exact": "1"}, {"stream"}),
        ({"outcome__exact": "limited"}, {"limited"}),
        ({"q": "timeout"}, {"upstream"}),
        ({"q": "remote/big"}, {"upstream"}),
    ],
)
def test_filters_and_search_narrow_the_list_and_the_export_alike(viewer, sample, params, expected):
    from chat.models import RequestLog

    want = {sample[name] for name in expected}
    assert listed(viewer, **params) == want
    ids = set(RequestLog.objects.filter(pk__in=want).values_list("request_id", flat=True))
    assert {r["request id"] for r in exported(viewer, **params)} == ids


def test_the_date_hierarchy_narrows_to_a_day(viewer, sample):
    from chat.models import RequestLog

    old = RequestLog.objects.get(pk=sample["old"]).started_at
    assert listed(viewer, started_at__year=str(old.year), started_at__month=str(old.month),
                  started_at__day=str(old.day)) == {sample["old"]}


def test_the_export_quotes_cells_a_spreadsheet_would_run(viewer, sample):
    row = next(r for r in exported(viewer) if r["requested model"].startswith("'"))
    assert row["requested model"] == "'=cmd|' /C calc'!A0"


def test_the_export_has_no_bodies(viewer):
    make_row(request_body="the prompt", response_body="the answer")
    response = viewer.get(reverse("admin:chat_requestlog_export"))
    text = b"".join(response.streaming_content).decode()
    assert "the prompt" not in text and "the answer" not in text


def test_the_detail_page_is_read_only_and_shows_bodies(viewer):
    row = make_row(request_body='{"messages": "<b>hi</b>"}', response_body="answer")
    page = viewer.get(reverse("admin:chat_requestlog_change", args=[row.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "&lt;b&gt;hi&lt;/b&gt;" in html and "<b>hi</b>" not in html  # escaped
    assert 'name="_save"' not in html


def test_a_bad_filter_in_the_export_link_goes_back_to_the_list(viewer):
    response = viewer.get(reverse("admin:chat_requestlog_export"), {"started_at__year": "not-a-year"})
    assert response.status_code == 302 and "e=1" in response["Location"]


def test_the_list_has_an_export_link_with_the_current_filters(viewer, sample):
    html = viewer.get(reverse(LIST), {"provider": "remote"}).content.decode()
    assert reverse("admin:chat_requestlog_export") + "?provider=remote" in html


@pytest.mark.parametrize(("language", "date"), [("en", "11/28/2026"), ("vi", "28-11-2026"), ("zh-hans", "2026年11月28日")])
def test_the_detail_heading_has_the_readers_date_format(viewer, language, date):
    row = make_row()
    RequestLog = type(row)
    RequestLog.objects.filter(pk=row.pk).update(started_at=datetime(2026, 11, 28, 9, 5, 7, tzinfo=UTC))
    page = viewer.get(reverse("admin:chat_requestlog_change", args=[row.pk]), headers={"accept-language": language})
    assert page.status_code == 200
    heading = page.content.decode().split("<h2>", 1)[1].split("</h2>", 1)[0]
    assert date in heading and "09:05:07" in heading, heading
