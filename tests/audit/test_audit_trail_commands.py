"""Changes made from the shell appear in the History too, by ``manage.py <command>``:
config import (run as a user would, in a separate process), gateway keys, ``manage.py
shell``, and the re-encryption of secrets (which changes no value and says so)."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE
from django.core.management import call_command
from django.test import override_settings

from providers import services
from providers.models import GatewayKey, Provider
from tests.audit.helpers import history

ROOT = Path(__file__).resolve().parents[2]
SECRET = "sk-audit-import-secret-P0o9"


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``manage.py`` in a separate process on the test database."""
    db = settings.DATABASES["default"]
    full = {**os.environ, "GATEWAY_TESTING": "1", **env}
    if db["ENGINE"] == "django.db.backends.sqlite3":
        full["GATEWAY_SQLITE_PATH"] = str(db["NAME"])
    else:
        user, host, port = db.get("USER") or "postgres", db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
        full["DATABASE_URL"] = f"postgres://{user}@{host}:{port}/{db['NAME']}"
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done


def test_config_import_from_the_command_line(transactional_db, tmp_path):
    path = tmp_path / "providers.yaml"
    path.write_text("providers:\n  - {name: local, type: custom, base_url: 'http://127.0.0.1:9/v1',"
                    " api_key: {env: AUDIT_KEY}}\n")
    manage("providers", "import", str(path), AUDIT_KEY=SECRET)
    path.write_text("providers:\n  - {name: local, type: custom, base_url: 'http://127.0.0.1:10/v1',"
                    " api_key: {env: AUDIT_KEY}, settings: {read_timeout: 40}}\n")
    manage("providers", "import", str(path), AUDIT_KEY=SECRET + "-new")

    entries = history(Provider.objects.get(name="local"))
    assert [(e["who"], e["door"], e["flag"]) for e in entries] == [
        ("manage.py providers", "config import", ADDITION), ("manage.py providers", "config import", CHANGE)]
    assert entries[1]["message"] == "Changed base URL, API key (value not shown) and settings (read_timeout)."
    assert SECRET not in " ".join(e["raw"] for e in entries)


def test_gateway_key_commands_and_the_shell(transactional_db):
    manage("gateway_key", "create", "ci")
    manage("gateway_key", "revoke", "ci")
    manage("shell", "-c", "from providers.models import GatewayKey as K; k = K.objects.get(name='ci'); "
           "k.rate_limit_rpm = 5; k.save()")

    entries = history(GatewayKey.objects.get(name="ci"))
    assert [(e["who"], e["door"], e["message"]) for e in entries] == [
        ("manage.py gateway_key", "command line", "Added."),
        ("manage.py gateway_key", "command line", "Changed revoked."),
        ("manage.py shell", "command line", "Changed requests per minute."),
    ]


def test_re_encryption_says_the_secret_changed_without_a_value(db):
    old = settings.GATEWAY_ENCRYPTION_KEY
    provider = services.provider_create(name="enc", provider_type="custom", base_url="http://127.0.0.1:9/v1",
                                        api_key=SECRET, extra_headers={"X-Org": "org-secret-value"})
    with override_settings(GATEWAY_ENCRYPTION_KEY="the-next-key", GATEWAY_ENCRYPTION_OLD_KEYS=[old]):
        call_command("rotate_encryption_key", stdout=io.StringIO())
        last = history(provider)[-1]
    assert (last["who"], last["door"]) == ("manage.py rotate_encryption_key", "encryption key rotation")
    assert last["message"] == "Changed API key (value not shown) and extra HTTP headers (value not shown)."
