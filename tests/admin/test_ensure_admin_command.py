"""`manage.py ensure_admin` (run by scripts/run.sh): creates a usable admin login once and
prints it; afterwards it says one exists and how to reset its password."""
from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def run(**env: str) -> str:
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


def test_creates_a_superuser_and_prints_a_working_login(monkeypatch):
    monkeypatch.delenv("ADMIN_USERNAME", raising=False)
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    output = run()
    assert "URL:      http://127.0.0.1:8000/admin/" in output
    username = re.search(r"Username: (\S+)", output).group(1)
    password = re.search(r"Password: (\S+)", output).group(1)
    assert username == "admin" and len(password) >= 12
    user = authenticate(username=username, password=password)
    assert user is not None and user.is_superuser and user.is_staff

    again = run()
    assert "existing superuser: admin" in again
    assert "manage.py changepassword admin" in again
    assert password not in again
    assert get_user_model().objects.count() == 1


def test_reads_username_and_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("ADMIN_USERNAME", "ops")
    monkeypatch.setenv("ADMIN_PASSWORD", "env-given-password-991")
    output = run()
    assert "Username: ops" in output
    assert "env-given-password-991" not in output
    assert authenticate(username="ops", password="env-given-password-991").is_superuser
