"""The provider and gateway key lists show each row's last 24 hours (requests, error rate,
p50 latency, tokens) to staff who may read the request log, in the same number of
queries whatever the number of rows."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.services import request_log_write
from providers import services
from tests.audit.helpers import staff
from tests.usage.rows import row

pytestmark = pytest.mark.django_db

KEY = "sk-usage-columns-key-H7j6"


def _reader(client, django_user_model, *, requestlog: bool = True):
    user = staff(django_user_model, "lists", "view_provider", "view_gatewaykey")
    if requestlog:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="chat", codename="view_requestlog"))
    client.force_login(user)
    return client


def _cells(html: str, name: str) -> list[str]:
    """The lines of the row's "last 24 h" cell."""
    line = re.search(rf'<tr[^>]*>(?:(?!</tr>).)*>{re.escape(name)}</a>.*?</tr>', html, re.DOTALL).group(0)
    cell = re.search(r'<td class="field-last_24h">(.*?)</td>', line, re.DOTALL).group(1)
    return [re.sub(r"<[^>]+>", "", part).strip() for part in cell.split("<br>")]


def test_providers_and_keys_show_their_last_day(client, django_user_model):
    services.provider_create(name="alpha", provider_type="custom", base_url="http://127.0.0.1:9/v1")
    services.provider_create(name="idle", provider_type="custom", base_url="http://127.0.0.1:9/v1")
    key, _raw = services.gateway_key_create(name="team-a")
    now = timezone.now()
    request_log_write(rows=[
        row(at=now - timedelta(hours=1), key_id=key.pk, latency=100, tokens=(1000, 500)),
        row(at=now - timedelta(hours=2), key_id=key.pk, latency=300, tokens=(1000, 500)),
        row(at=now - timedelta(hours=3), key_id=key.pk, latency=900, status=503, tokens=(None, None)),
        row(at=now - timedelta(hours=30), key_id=key.pk, latency=5),  # older than a day
    ])
    reader = _reader(client, django_user_model)
    providers_html = reader.get("/admin/providers/provider/").content.decode()
    assert _cells(providers_html, "alpha") == ["3 requests", "33.3% errors", "p50 300 ms", "3k tokens"]
    assert _cells(providers_html, "idle") == ["no requests"]
    keys_html = reader.get("/admin/providers/gatewaykey/").content.decode()
    assert _cells(keys_html, "team-a") == ["3 requests", "33.3% errors", "p50 300 ms", "3k tokens"]


def test_queries_do_not_grow_with_the_rows(client, django_user_model):
    reader = _reader(client, django_user_model)
    # With a key each: the list reads a keyless provider's key column once per row (its own matter).
    services.provider_create(name="p0", provider_type="custom", base_url="http://127.0.0.1:9/v1", api_key=KEY)
    request_log_write(rows=[row(at=timezone.now() - timedelta(hours=1), provider="p0")])
    reader.get("/admin/providers/provider/")
    with CaptureQueriesContext(connection) as few:
        reader.get("/admin/providers/provider/")
    for i in range(1, 8):
        services.provider_create(name=f"p{i}", provider_type="custom", base_url="http://127.0.0.1:9/v1", api_key=KEY)
        request_log_write(rows=[row(at=timezone.now() - timedelta(hours=1), provider=f"p{i}")])
    with CaptureQueriesContext(connection) as many:
        reader.get("/admin/providers/provider/")
    assert len(many.captured_queries) == len(few.captured_queries), [q["sql"][:150] for q in many.captured_queries]


def test_without_the_request_log_permission_there_are_no_such_columns(client, django_user_model):
    services.provider_create(name="alpha", provider_type="custom", base_url="http://127.0.0.1:9/v1")
    html = _reader(client, django_user_model, requestlog=False).get("/admin/providers/provider/").content.decode()
    assert "field-last_24h" not in html
