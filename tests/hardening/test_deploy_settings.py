"""The documented production settings: ``manage.py check --deploy`` passes, and
secure cookies, HSTS and the HTTPS redirect are on outside DEBUG."""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def _production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DEBUG": "false",
        "GATEWAY_TESTING": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "GATEWAY_ENCRYPTION_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "gw.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://gw.example.com",
        # As in docs/deployment.md; check --deploy does not connect to either.
        "DATABASE_URL": "postgres://gateway:unused@db.example.internal:5432/gateway",
        "REDIS_URL": "redis://redis.example.internal:6379/0",
        "GATEWAY_VAR_DIR": str(tmp_path / "var"),
    }
    env.update(extra)
    return env


def _manage(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=_production_env(tmp_path, **extra),
        capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_passes_for_production_settings(tmp_path):
    done = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_production_settings_turn_on_secure_cookies_hsts_and_https(tmp_path):
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ['DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
        "'SESSION_COOKIE_HTTPONLY', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', "
        "'X_FRAME_OPTIONS', 'ALLOWED_HOSTS']} | {'proxy': list(s.SECURE_PROXY_SSL_HEADER), "
        "'csrf': 'django.middleware.csrf.CsrfViewMiddleware' in s.MIDDLEWARE}))"
    )
    env = _production_env(tmp_path, DJANGO_SETTINGS_MODULE="gateway.settings")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    values = json.loads(done.stdout)
    assert values == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "X_FRAME_OPTIONS": "DENY",
        "ALLOWED_HOSTS": ["gw.example.com"],
        "proxy": ["HTTP_X_FORWARDED_PROTO", "https"],
        "csrf": True,
    }


def test_production_refuses_to_start_without_an_encryption_key(tmp_path):
    done = _manage(tmp_path, "check", GATEWAY_ENCRYPTION_KEY="")
    assert done.returncode != 0
    assert "GATEWAY_ENCRYPTION_KEY is not set" in done.stderr
