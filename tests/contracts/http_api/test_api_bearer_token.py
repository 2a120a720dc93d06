"""A staff user's DRF token (made with ``manage.py drf_create_token``, as the README says)
opens /api/ sent as ``Authorization: Bearer <key>``, what HTTP clients send by default,
as well as DRF's ``Authorization: Token <key>``; a wrong token is a 401 either way."""
from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def token_key(django_user_model) -> str:
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(username="ops", password="a-long-password-789", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(
        content_type__app_label="providers", codename__in=["view_provider", "add_provider"]))
    out = io.StringIO()
    call_command("drf_create_token", "ops", stdout=out)
    return re.search(r"Generated token (\w+) for user ops", out.getvalue()).group(1)


@pytest.mark.parametrize("scheme", ["Bearer", "Token", "bearer"])
def test_the_token_works_in_either_form(client, token_key, scheme):
    response = client.get("/api/providers/", HTTP_AUTHORIZATION=f"{scheme} {token_key}")

    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


@pytest.mark.parametrize("scheme", ["Bearer", "Token"])
def test_a_wrong_token_is_refused(client, token_key, scheme):
    response = client.get("/api/providers/", HTTP_AUTHORIZATION=f"{scheme} {token_key[:-1]}x")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(("header", "detail"), [
    ("Bearer", "Invalid token header. No credentials provided."),
    ("Bearer a b", "Invalid token header. Token string should not contain spaces."),
])
def test_a_malformed_bearer_header_says_why(client, header, detail):
    response = client.get("/api/providers/", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert response.json() == {"detail": detail}


def test_a_bearer_token_writes_without_a_session_or_csrf(client, token_key):
    response = client.post("/api/providers/", {"name": "via-bearer", "provider_type": "custom",
                                               "base_url": "http://127.0.0.1:9/v1"},
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token_key}")

    assert response.status_code == 201, response.content
    assert response.json()["name"] == "via-bearer"
