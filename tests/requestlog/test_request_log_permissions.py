"""Reading the request log needs ``chat.view_requestlog`` at every door (the admin
list, detail page and CSV export, the REST API list and detail); nobody, not even
a superuser, can add, change or delete rows there."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from tests.requestlog.rows import make_row

pytestmark = pytest.mark.django_db


def user(name: str, *perms: str, superuser: bool = False):
    made = get_user_model().objects.create_user(name, password="pw-" + name, is_staff=True, is_superuser=superuser)
    for codename in perms:
        made.user_permissions.add(Permission.objects.get(codename=codename))
    return made


def client_for(made) -> Client:
    client = Client()
    client.force_login(made)
    return client


def token_for(made) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=made).key}"}


def reads(row_id: int) -> list[tuple[str, str]]:
    return [
        ("admin list", reverse("admin:chat_requestlog_changelist")),
        ("admin detail", reverse("admin:chat_requestlog_change", args=[row_id])),
        ("admin csv", reverse("admin:chat_requestlog_export")),
        ("api list", "/api/requests/"),
        ("api detail", f"/api/requests/{row_id}/"),
    ]


def test_staff_without_the_view_permission_is_refused_everywhere():
    row = make_row()
    other = user("keys-only", "view_gatewaykey", "view_provider")
    headers = token_for(other)
    for door, url in reads(row.pk):
        response = Client().get(url, **headers) if door.startswith("api") else client_for(other).get(url)
        assert response.status_code == 403, door
    # Refused before the query is even looked at.
    assert Client().get("/api/requests/", {"status": "bad"}, **headers).status_code == 403


def test_staff_with_the_view_permission_reads_everywhere():
    row = make_row()
    viewer = user("viewer", "view_requestlog")
    headers = token_for(viewer)
    for door, url in reads(row.pk):
        response = Client().get(url, **headers) if door.startswith("api") else client_for(viewer).get(url)
        assert response.status_code == 200, door


def test_the_csv_action_needs_the_view_permission_too():
    row = make_row()
    data = {"action": "export_selected", "_selected_action": [row.pk]}
    refused = client_for(user("nobody")).post(reverse("admin:chat_requestlog_changelist"), data)
    assert refused.status_code == 403
    allowed = client_for(user("viewer", "view_requestlog")).post(reverse("admin:chat_requestlog_changelist"), data)
    assert allowed.status_code == 200 and allowed["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize("who", ["viewer", "superuser"])
def test_nobody_adds_changes_or_deletes_rows(who):
    from chat.models import RequestLog

    row = make_row()
    made = user("viewer", "view_requestlog") if who == "viewer" else user("root", superuser=True)
    admin = client_for(made)
    assert admin.get(reverse("admin:chat_requestlog_add")).status_code == 403
    assert admin.post(reverse("admin:chat_requestlog_change", args=[row.pk]), {"status": 500}).status_code == 403
    assert admin.post(reverse("admin:chat_requestlog_delete", args=[row.pk]), {"post": "yes"}).status_code == 403
    assert "delete_selected" not in admin.get(reverse("admin:chat_requestlog_changelist")).content.decode()
    api = Client()
    headers = token_for(made)
    assert api.post("/api/requests/", {"status": 200}, content_type="application/json", **headers).status_code in {403, 405}
    for method in ("put", "patch", "delete"):
        response = getattr(api, method)(f"/api/requests/{row.pk}/", {"status": 500}, content_type="application/json",
                                        **headers)
        assert response.status_code in {403, 405}, method
    row.refresh_from_db()
    assert (RequestLog.objects.count(), row.status) == (1, 200)
