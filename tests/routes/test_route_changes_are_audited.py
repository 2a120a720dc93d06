"""Route changes from every door land in the route's History (the audit trail): the
API with the staff user who made them, a change of targets as one "targets" entry,
the command as ``manage.py routes``."""
from __future__ import annotations

from io import StringIO

from django.contrib.admin.models import ADDITION, CHANGE
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from providers.models import Route
from tests.audit.helpers import history, staff


def test_api_and_command_changes_are_in_the_history(django_user_model, client, make_provider, upstream):
    make_provider(name="a", base_url=upstream.base_url)
    make_provider(name="b", base_url=upstream.base_url)
    user = staff(django_user_model, "ops", "view_route", "add_route", "change_route")
    auth = f"Token {Token.objects.create(user=user).key}"
    made = client.post("/api/routes/", {"name": "chat", "targets": [{"provider": "a", "model": "text"}]},
                       content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert made.status_code == 201, made.content
    changed = client.patch(f"/api/routes/{made.json()['id']}/", {"targets": [{"provider": "b", "model": "text"}]},
                           content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert changed.status_code == 200, changed.content
    call_command("routes", "change", "chat", "--description", "from the shell", stdout=StringIO())

    entries = history(Route.objects.get(name="chat"))
    assert [(e["who"], e["flag"]) for e in entries[:2]] == [("ops", ADDITION), ("ops", CHANGE)]
    assert "targets" in entries[1]["message"]
    assert entries[-1]["flag"] == CHANGE and "manage.py routes" in entries[-1]["who"]
