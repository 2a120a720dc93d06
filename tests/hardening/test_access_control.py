"""Admin and API: staff only, CSRF enforced for cookie sessions."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token

API_URLS = ["/api/providers/", "/api/gateway-keys/", "/api/provider-types/"]


@pytest.fixture
def users(db):
    User = get_user_model()
    staff = User.objects.create_user("ops", password="correct horse battery staple", is_staff=True, is_superuser=True)
    plain = User.objects.create_user("someone", password="correct horse battery staple")
    return staff, plain


@pytest.mark.parametrize("url", API_URLS)
def test_api_refuses_anonymous_and_non_staff(users, url):
    staff, plain = users
    assert Client().get(url).status_code in (401, 403)
    token = Token.objects.create(user=plain)
    assert Client().get(url, HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 403
    session = Client()
    session.force_login(plain)
    assert session.get(url).status_code == 403
    staff_token = Token.objects.create(user=staff)
    assert Client().get(url, HTTP_AUTHORIZATION=f"Token {staff_token.key}").status_code == 200


def test_api_writes_through_a_session_need_the_csrf_token(users):
    staff, _plain = users
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    body = {"name": "csrf-test", "provider_type": "custom", "base_url": "http://127.0.0.1:9/v1"}
    resp = client.post("/api/providers/", body, content_type="application/json")
    assert resp.status_code == 403
    assert "CSRF" in resp.json()["detail"]
    client.get("/admin/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    resp = client.post("/api/providers/", body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert resp.status_code == 201, resp.content


def test_admin_login_and_forms_enforce_csrf(users):
    client = Client(enforce_csrf_checks=True)
    resp = client.post("/admin/login/", {"username": "ops", "password": "correct horse battery staple"})
    assert resp.status_code == 403
    staff, _plain = users
    client.force_login(staff)
    resp = client.post("/admin/providers/provider/add/", {"name": "x", "provider_type": "custom"})
    assert resp.status_code == 403


def test_admin_refuses_non_staff(users):
    _staff, plain = users
    client = Client()
    client.force_login(plain)
    resp = client.get("/admin/providers/provider/")
    assert resp.status_code == 302 and "/admin/login/" in resp["Location"]
