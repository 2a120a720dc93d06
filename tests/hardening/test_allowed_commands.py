"""A program-based provider runs only a program the deployment lists in
GATEWAY_ALLOWED_COMMANDS (default: ``claude`` and ``claude-agent-acp``). The admin,
the API and a config import all get a field error naming the setting, whoever the
user; a row saved under a wider list is refused again when it would run, and the
program does not start."""
from __future__ import annotations

import json
import os
import shutil
import stat

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.authtoken.models import Token

from providers import services
from providers.models import Provider
from providers.onboarding import config_io
from tests.hardening.conftest import make_role_user

ATTACK = {"name": "pwn", "provider_type": "acp", "settings": {"command": "/bin/sh", "args": ["-c", "id > /tmp/pwned"]}}


def _program(directory, name: str, marker) -> str:
    """An executable script that only leaves a marker file when it runs."""
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\ntouch '{marker}'\nexit 1\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def _api(user) -> Client:
    token = Token.objects.create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


def test_the_reported_attack_is_refused_at_every_door(db, tmp_path):
    # A staff user with no permission at all: 403, nothing created.
    response = _api(make_role_user("no-permissions")).post("/api/providers/", ATTACK, content_type="application/json")
    assert response.status_code == 403
    # A superuser: a field error naming the setting, nothing created.
    response = _api(make_role_user("superuser")).post("/api/providers/", ATTACK, content_type="application/json")
    assert response.status_code == 400
    [message] = response.json()["settings"]
    assert message.startswith("command: “/bin/sh” is not a program this gateway may run.")
    assert "GATEWAY_ALLOWED_COMMANDS" in message
    # The admin's form and a config import say the same.
    admin = Client()
    admin.force_login(get_user_model().objects.get(username="superuser-user"))
    page = admin.post("/admin/providers/provider/add/", {
        "name": "pwn", "provider_type": "acp", "enabled": "on", "settings": json.dumps(ATTACK["settings"])})
    assert page.status_code == 200 and "GATEWAY_ALLOWED_COMMANDS" in page.content.decode()
    config = tmp_path / "providers.json"
    config.write_text(json.dumps({"providers": [{"name": "pwn", "type": "acp", "settings": ATTACK["settings"]}]}))
    with pytest.raises(config_io.ConfigError) as caught:
        config_io.import_file(str(config))
    assert "GATEWAY_ALLOWED_COMMANDS" in str(caught.value.problems)
    assert not Provider.objects.exists()


def test_a_program_named_like_an_allowed_one_is_not_that_program(db, tmp_path, settings):
    fake = _program(tmp_path / "evil", "claude", tmp_path / "ran")
    with pytest.raises(ValidationError) as caught:
        services.provider_create(name="cli", provider_type="claude_cli", settings={"command": fake})
    assert "GATEWAY_ALLOWED_COMMANDS" in str(caught.value)
    settings.GATEWAY_ALLOWED_COMMANDS = ["claude", fake]  # the operator lists it by its path
    assert services.provider_create(name="cli", provider_type="claude_cli", settings={"command": fake})


def test_names_are_resolved_on_path_and_compared_as_files(db, settings):
    settings.GATEWAY_ALLOWED_COMMANDS = ["sh"]
    sh = shutil.which("sh")
    assert services.provider_create(name="by-name", provider_type="acp", settings={"command": "sh"})
    assert services.provider_create(name="by-path", provider_type="acp", settings={"command": sh})
    settings.GATEWAY_ALLOWED_COMMANDS = [sh]
    assert services.provider_create(name="path-entry", provider_type="acp", settings={"command": "sh"})
    for relative in ("./sh", "bin/sh"):
        with pytest.raises(ValidationError):
            services.provider_create(name="relative", provider_type="acp", settings={"command": relative})


def test_a_row_saved_under_a_wider_list_does_not_run(live_gateway, gateway_key, tmp_path, settings):
    marker = tmp_path / "ran"
    program = _program(tmp_path / "bin", "agent", marker)
    settings.GATEWAY_ALLOWED_COMMANDS = [program]
    services.provider_create(name="agent", provider_type="acp", settings={"command": program})
    settings.GATEWAY_ALLOWED_COMMANDS = ["claude", "claude-agent-acp"]  # the deployment narrowed it
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        for stream in (False, True):
            response = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {gateway_key}"},
                                   json={"model": "agent/x", "stream": stream,
                                         "messages": [{"role": "user", "content": "hi"}]})
            assert response.status_code == 502
            error = response.json()["error"]
            assert error["code"] == "program_not_allowed"
            assert "GATEWAY_ALLOWED_COMMANDS" in error["message"]
    assert not os.path.exists(marker)


def test_an_absolute_entry_pins_the_file_whatever_path_finds(live_gateway, gateway_key, tmp_path, settings,
                                                              monkeypatch):
    # Saved while "claude" was allowed; now only one file is, and PATH finds another claude.
    marker = tmp_path / "ran"
    services.provider_create(name="cli", provider_type="claude_cli", settings={})
    _program(tmp_path / "bin", "claude", marker)
    settings.GATEWAY_ALLOWED_COMMANDS = ["/usr/local/bin/claude-the-real-one"]
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ.get('PATH', '')}")
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        response = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {gateway_key}"},
                               json={"model": "cli/sonnet", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "program_not_allowed"
    assert not os.path.exists(marker)
