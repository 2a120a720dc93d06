"""The admin's usage page: for staff with ``chat.view_requestlog`` (linked from the admin
home for them only); totals, five SVG charts and the breakdown of a known set of rows;
the period form refuses what cannot be shown; no script on the page."""
from __future__ import annotations

import re

import pytest

from tests.audit.helpers import staff

pytestmark = pytest.mark.django_db

CUSTOM = {"period": "custom", "start": "2026-11-27", "end": "2026-11-27", "bucket": "hour", "group": "provider"}


def test_the_page_shows_totals_charts_and_the_breakdown(viewer):
    response = viewer.get("/admin/usage/", CUSTOM)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg class="usage-chart"') == 5
    assert "<script" not in html.split('id="content-main"')[1]  # the page itself needs no script
    cards = dict(re.findall(r'<div class="label">([^<]+)</div><div class="value">([^<]+)</div>', html))
    assert cards["Requests"] == "10"  # 2026-11-27 (a whole day): the scripted two hours and the two rows around
    groups = re.search(r'<table id="usage-groups">(.*?)</table>', html, re.DOTALL).group(1)
    names = re.findall(r'<td class="name">([^<]+)</td>', groups)
    assert names == ["alpha", "beta", "no provider"]
    consumers = re.search(r'<table id="usage-consumers">(.*?)</table>', html, re.DOTALL).group(1)
    assert re.findall(r'<td class="name">([^<]+)</td>', consumers) == ["team-a", "team-b"]
    assert "11/27/2026 10 a.m. · alpha: 5</title>" in html  # each bar says its bucket and value


@pytest.mark.parametrize("group", ["key", "model"])
def test_every_breakdown(viewer, group):
    html = viewer.get("/admin/usage/", {**CUSTOM, "group": group}).content.decode()
    groups = re.search(r'<table id="usage-groups">(.*?)</table>', html, re.DOTALL).group(1)
    expected = {"key": ["team-a", "team-b"], "model": ["alpha/m1", "beta/m2"]}[group]
    assert re.findall(r'<td class="name">([^<]+)</td>', groups) == expected


def test_a_period_too_long_for_hours_is_refused_with_a_message(viewer):
    html = viewer.get("/admin/usage/", {"period": "90d", "bucket": "hour"}).content.decode()
    assert "Too long for hour buckets: at most 336 buckets." in html
    assert '<svg class="usage-chart"' not in html


def test_in_vietnamese_and_chinese(viewer):
    for language in ("vi", "zh-hans"):
        response = viewer.get("/admin/usage/", CUSTOM, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200 and response["Content-Language"] == language


def test_staff_without_the_permission_get_no_page_and_no_link(client, django_user_model):
    client.force_login(staff(django_user_model, "other", "view_provider"))
    assert client.get("/admin/usage/").status_code == 403
    assert "/admin/usage/" not in client.get("/admin/").content.decode()


def test_the_admin_home_links_to_it(viewer):
    assert 'href="/admin/usage/"' in viewer.get("/admin/").content.decode()


def test_anonymous_users_are_sent_to_the_login(client):
    response = client.get("/admin/usage/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
