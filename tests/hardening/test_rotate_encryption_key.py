"""``manage.py rotate_encryption_key``: every secret re-encrypted under the new key,
interruptible and re-runnable, nothing lost; ``--check`` says when the old key
can go."""
from __future__ import annotations

import io
import secrets

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from providers import services
from providers.crypto import DecryptionError, decrypt_bytes
from providers.management.commands import rotate_encryption_key as command
from providers.models import Provider

SECRETS = {
    "alpha": ("sk-rotate-alpha-7f3a9c01", {"X-Tenant-Token": "tenant-rotate-secret-01"}),
    "beta": ("sk-rotate-beta-5e2d8b02", None),
    "gamma": (None, None),
}


def _raw(pk: int) -> tuple[bytes | None, bytes | None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key, extra_headers FROM providers_provider WHERE id = %s", [pk])
        api_key, headers = cursor.fetchone()
    return (bytes(api_key) if api_key is not None else None, bytes(headers) if headers is not None else None)


def _run(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("rotate_encryption_key", *args, stdout=out, stderr=err)
    finally:
        output = out.getvalue() + err.getvalue()
        for api_key, headers in SECRETS.values():
            for secret in [api_key, *(headers or {}).values()]:
                if secret:
                    assert secret not in output
    return output


@pytest.fixture
def providers(db):
    made = {}
    for name, (api_key, headers) in SECRETS.items():
        made[name] = services.provider_create(
            name=name, provider_type="custom", base_url="http://127.0.0.1:9/v1", api_key=api_key, extra_headers=headers
        )
    return made


def test_rotation_re_encrypts_everything_and_the_old_key_can_then_go(providers):
    old_key = settings.GATEWAY_ENCRYPTION_KEY
    new_key = secrets.token_urlsafe(48)
    before = {name: _raw(p.pk) for name, p in providers.items()}
    with override_settings(GATEWAY_ENCRYPTION_KEY=new_key, GATEWAY_ENCRYPTION_OLD_KEYS=[old_key]):
        with pytest.raises(CommandError):
            _run("--check")
        output = _run()
        assert "3 secret(s) re-encrypted, 0 already under the current key, 0 unreadable." in output
        output = _run("--check")
        assert "3 secret(s) under the current key, 0 still under an old key, 0 unreadable." in output
    for name, provider in providers.items():
        after = _raw(provider.pk)
        for old_raw, new_raw in zip(before[name], after, strict=False):
            assert (old_raw is None) == (new_raw is None)
            if new_raw is not None:
                assert new_raw != old_raw
                assert decrypt_bytes(new_raw, [new_key])[1] == 0
                with pytest.raises(DecryptionError):
                    decrypt_bytes(new_raw, [old_key])
    # The old key removed: everything still reads back intact.
    with override_settings(GATEWAY_ENCRYPTION_KEY=new_key, GATEWAY_ENCRYPTION_OLD_KEYS=[]):
        for name, (api_key, headers) in SECRETS.items():
            provider = Provider.objects.get(name=name)
            assert provider.api_key == api_key
            assert provider.extra_headers == headers
        assert "GATEWAY_ENCRYPTION_OLD_KEYS can be removed" in _run("--check")


def test_an_interrupted_rotation_loses_nothing_and_a_second_run_finishes(providers, monkeypatch):
    old_key = settings.GATEWAY_ENCRYPTION_KEY
    new_key = secrets.token_urlsafe(48)
    real_encrypt = command.encrypt_bytes
    calls = {"n": 0}

    def encrypt_then_die(plain: bytes) -> bytes:
        calls["n"] += 1
        if calls["n"] == 3:  # alpha's two secrets are done; beta's is next
            raise KeyboardInterrupt
        return real_encrypt(plain)

    with override_settings(GATEWAY_ENCRYPTION_KEY=new_key, GATEWAY_ENCRYPTION_OLD_KEYS=[old_key]):
        monkeypatch.setattr(command, "encrypt_bytes", encrypt_then_die)
        with pytest.raises(KeyboardInterrupt):
            _run()
        monkeypatch.setattr(command, "encrypt_bytes", real_encrypt)
        # Mid-rotation the gateway still reads every secret (new and old key).
        for name, (api_key, _headers) in SECRETS.items():
            assert Provider.objects.get(name=name).api_key == api_key
        with pytest.raises(CommandError):
            _run("--check")
        output = _run()
        assert "1 secret(s) re-encrypted, 2 already under the current key, 0 unreadable." in output
        assert "0 secret(s) re-encrypted, 3 already under the current key" in _run()
    with override_settings(GATEWAY_ENCRYPTION_KEY=new_key, GATEWAY_ENCRYPTION_OLD_KEYS=[]):
        for name, (api_key, headers) in SECRETS.items():
            provider = Provider.objects.get(name=name)
            assert (provider.api_key, provider.extra_headers) == (api_key, headers)


def test_secrets_no_key_can_read_are_reported_and_left_alone(providers):
    raw_before = _raw(providers["alpha"].pk)
    with override_settings(GATEWAY_ENCRYPTION_KEY=secrets.token_urlsafe(48), GATEWAY_ENCRYPTION_OLD_KEYS=[]):
        with pytest.raises(CommandError):
            _run()
    assert _raw(providers["alpha"].pk) == raw_before


def test_the_command_line_works(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent.parent
    env = {**os.environ, "GATEWAY_TESTING": "1", "GATEWAY_VAR_DIR": str(tmp_path),
           "GATEWAY_SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    env.pop("DATABASE_URL", None)

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=root, env=env, capture_output=True,
                              text=True, timeout=300)

    assert "GATEWAY_ENCRYPTION_OLD_KEYS" in manage("help", "rotate_encryption_key").stdout
    assert manage("migrate", "--noinput", "-v", "0").returncode == 0
    done = manage("rotate_encryption_key", "--check")
    assert done.returncode == 0, done.stderr
    assert "GATEWAY_ENCRYPTION_OLD_KEYS can be removed" in done.stdout
