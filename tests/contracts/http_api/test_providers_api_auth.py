"""/api/ is for staff only: token or session authentication; others get 401 or 403."""
from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "/api/providers/"),
    ("post", "/api/providers/"),
    ("get", "/api/providers/1/"),
    ("patch", "/api/providers/1/"),
    ("put", "/api/providers/1/"),
    ("delete", "/api/providers/1/"),
    ("get", "/api/provider-types/"),
    ("get", "/api/gateway-keys/"),
    ("post", "/api/gateway-keys/"),
    ("post", "/api/gateway-keys/1/revoke/"),
]


def call(client, method, url, **headers):
    fn = getattr(client, method)
    if method in {"post", "put", "patch"}:
        return fn(url, {}, content_type="application/json", **headers)
    return fn(url, **headers)


@pytest.fixture
def plain_user(django_user_model):
    return django_user_model.objects.create_user(username="someone", password="a-long-password-123")


@pytest.fixture
def staff_user(django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(username="ops", password="a-long-password-456", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="providers"))
    return user


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_anonymous_gets_401_with_a_challenge(client, method, url):
    response = call(client, method, url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_non_staff_session_gets_403(client, plain_user, method, url):
    client.force_login(plain_user)
    response = call(client, method, url)
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}


def test_non_staff_token_gets_403(client, plain_user):
    token = Token.objects.create(user=plain_user)
    response = client.get("/api/providers/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 403


def test_a_bad_token_gets_401(client):
    response = client.get("/api/providers/", HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_staff_token_works_without_a_session_or_csrf(client, staff_user):
    token = Token.objects.create(user=staff_user)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    response = client.post("/api/providers/", {"name": "tok", "provider_type": "custom",
                                               "base_url": "http://127.0.0.1:9/v1"},
                           content_type="application/json", **auth)
    assert response.status_code == 201, response.content
    assert client.get("/api/providers/", **auth).json()["count"] == 1


def test_staff_session_needs_csrf_for_writes(staff_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    assert client.get("/api/providers/").status_code == 200
    response = client.post("/api/providers/", {"name": "x", "provider_type": "custom"},
                           content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_auth_errors_are_localized(client):
    response = client.get("/api/providers/", HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 401
    assert response.json()["detail"] != "Authentication credentials were not provided."
    assert response["Content-Language"] == "vi"
