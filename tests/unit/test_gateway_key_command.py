"""``manage.py gateway_key create|list|revoke``."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from providers.gateway_keys import hash_gateway_key
from providers.models import GatewayKey

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("gateway_key", *args, stdout=out)
    return out.getvalue()


def test_create_prints_the_key_alone_on_the_last_line(db):
    output = run("create", "ci-bot")
    raw = output.rstrip("\n").splitlines()[-1]
    assert raw.startswith("gwk_") and " " not in raw
    key = GatewayKey.objects.get(name="ci-bot")
    assert key.key_hash == hash_gateway_key(raw)
    assert raw.startswith(key.prefix)
    assert raw not in key.prefix  # only a prefix is kept


def test_create_with_providers_and_limits(db):
    from providers import services

    services.provider_create(name="alpha", provider_type="custom", base_url="http://127.0.0.1:9/v1")
    services.provider_create(name="beta", provider_type="custom", base_url="http://127.0.0.1:9/v1")
    run("create", "limited", "--provider", "alpha", "--provider", "beta", "--rpm", "60", "--tpm", "1000")
    key = GatewayKey.objects.get(name="limited")
    assert sorted(p.name for p in key.providers.all()) == ["alpha", "beta"]
    assert (key.rate_limit_rpm, key.rate_limit_tpm) == (60, 1000)


@pytest.mark.parametrize(
    "args",
    [
        ("create", "bad name"),
        ("create", "x", "--provider", "missing"),
        ("create", "x", "--rpm", "0"),
        ("revoke", "nobody"),
    ],
)
def test_bad_input_is_a_command_error(db, args):
    with pytest.raises(CommandError):
        run(*args)
    assert not GatewayKey.objects.filter(name="x").exists()


def test_duplicate_name_is_refused(db):
    run("create", "dup")
    with pytest.raises(CommandError, match="already exists"):
        run("create", "dup")


def test_list_shows_keys_without_secrets(db):
    raw = run("create", "listed").splitlines()[-1]
    table = run("list")
    assert "listed" in table and GatewayKey.objects.get(name="listed").prefix in table
    assert raw not in table
    rows = json.loads(run("list", "--json"))
    assert rows == [
        {
            "name": "listed",
            "prefix": raw[:10],
            "created": rows[0]["created"],
            "last_used": None,
            "revoked": None,
            "all_providers": True,
            "providers": [],
            "rate_limit_rpm": None,
            "rate_limit_tpm": None,
            "record_bodies": False,
            "expires": None,
            "allowed_models": [],
            "requests_per_day": None,
            "requests_per_month": None,
            "tokens_per_day": None,
            "tokens_per_month": None,
            "usage": rows[0]["usage"],
        }
    ]
    assert {row["used"] for row in rows[0]["usage"].values()} == {None}  # no budget set, nothing counted
    assert raw not in json.dumps(rows)
    assert GatewayKey.objects.get(name="listed").key_hash not in json.dumps(rows)


def test_revoke(db):
    run("create", "gone")
    assert "Revoked" in run("revoke", "gone")
    assert GatewayKey.objects.get(name="gone").revoked_at is not None
    assert json.loads(run("list", "--json"))[0]["revoked"] is not None
    assert "already" in run("revoke", "gone")


def manage(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py gateway_key`` in a separate process on the test database."""
    db = settings.DATABASES["default"]
    env = {**os.environ, "GATEWAY_TESTING": "1"}
    if db["ENGINE"] == "django.db.backends.sqlite3":
        env["GATEWAY_SQLITE_PATH"] = str(db["NAME"])
    else:
        user = db.get("USER") or "postgres"
        env["DATABASE_URL"] = f"postgres://{user}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    return subprocess.run(
        [sys.executable, "manage.py", "gateway_key", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120, check=True,
    )


def test_key_from_a_separate_process_works_and_its_revocation_reaches_the_gateway(
    live_gateway, make_provider, upstream
):
    make_provider(name="local", base_url=upstream.base_url)
    raw = manage("create", "from-shell").stdout.rstrip("\n").splitlines()[-1]
    headers = {"Authorization": f"Bearer {raw}"}
    body = {"model": "local/text", "messages": [{"role": "user", "content": "hi"}]}

    def status_within(expected: int) -> int:
        # Another process's change reaches this one within GATEWAY_CONFIG_REFRESH_SECONDS.
        deadline = time.monotonic() + 10 * settings.GATEWAY_CONFIG_REFRESH_SECONDS + 5
        while True:
            code = httpx.post(f"{live_gateway.url}/v1/chat/completions", headers=headers, json=body).status_code
            if code == expected or time.monotonic() > deadline:
                return code
            time.sleep(0.1)

    assert status_within(200) == 200
    manage("revoke", "from-shell")
    assert status_within(401) == 401
    listed = json.loads(manage("list", "--json").stdout)
    assert [(k["name"], k["revoked"] is not None) for k in listed] == [("from-shell", True)]
