"""Routes travel in the configuration file beside the providers (import is an upsert
in one transaction with the providers, export writes them back) and are managed with
``manage.py routes``; both go through the same services as the API and admin."""
from __future__ import annotations

import json
from io import StringIO

import pytest
import yaml
from django.core.management import CommandError, call_command

from providers import selectors
from providers.models import Route
from providers.onboarding import config_io

FILE = """
version: 1
providers:
  - name: a
    type: custom
    base_url: {url}
    models: [text, tools]
  - name: b
    type: custom
    base_url: {url}
routes:
  - name: chat-default
    description: replicas first
    max_attempts: 2
    targets:
      - {{provider: a, model: text, priority: 0, weight: 3}}
      - {{provider: b, model: tools, priority: 1}}
"""


def write(tmp_path, text):
    path = tmp_path / "gw.yaml"
    path.write_text(text)
    return str(path)


def test_import_creates_updates_and_exports_routes(db, tmp_path, upstream):
    path = write(tmp_path, FILE.format(url=upstream.base_url))
    result = config_io.import_file(path)
    assert ("create", "route:chat-default") in [(c.action, c.name) for c in result.changes]
    route = Route.objects.get(name="chat-default")
    assert route.max_attempts == 2
    assert [(t.provider.name, t.model, t.priority, t.weight) for t in route.targets.all()] == [
        ("a", "text", 0, 3), ("b", "tools", 1, 1)]
    again = config_io.import_file(path)
    assert ("unchanged", "route:chat-default") in [(c.action, c.name) for c in again.changes]

    document = config_io.export_document()
    assert document["routes"] == [{
        "name": "chat-default", "description": "replicas first", "enabled": True, "max_attempts": 2,
        "fallback_on_client_errors": False,
        "targets": [{"provider": "a", "model": "text", "priority": 0, "weight": 3},
                    {"provider": "b", "model": "tools", "priority": 1, "weight": 1}]}]
    # What was exported imports again unchanged.
    exported = write(tmp_path, yaml.safe_dump(document))
    assert all(c.action == "unchanged" for c in config_io.import_file(exported).changes)


def test_a_bad_route_rolls_back_the_whole_file(db, tmp_path, upstream):
    bad = FILE.format(url=upstream.base_url).replace("provider: b, model: tools", "provider: ghost, model: x")
    with pytest.raises(config_io.ConfigError) as err:
        config_io.import_file(write(tmp_path, bad))
    assert "routes[0] “chat-default”" in str(err.value) and "ghost" in str(err.value)
    assert not Route.objects.exists()
    assert not config_io.export_document()["providers"]


def test_unknown_route_fields_are_named(db, tmp_path, upstream):
    bad = FILE.format(url=upstream.base_url).replace("max_attempts: 2", "retries: 2")
    with pytest.raises(config_io.ConfigError) as err:
        config_io.import_file(write(tmp_path, bad))
    assert "retries" in str(err.value)


def test_prune_removes_routes_only_when_the_file_has_routes(db, tmp_path, upstream):
    config_io.import_file(write(tmp_path, FILE.format(url=upstream.base_url)))
    only_providers = FILE.format(url=upstream.base_url).split("routes:")[0]
    config_io.import_file(write(tmp_path, only_providers), prune=True)
    assert Route.objects.filter(name="chat-default").exists()
    config_io.import_file(write(tmp_path, only_providers + "routes: []\n"), prune=True)
    assert not Route.objects.exists()


def test_the_routes_command(db, upstream, make_provider):
    make_provider(name="a", base_url=upstream.base_url, settings={"default_model": "text"})
    make_provider(name="b", base_url=upstream.base_url)
    out = StringIO()
    call_command("routes", "add", "fast", "--target", "a", "--target", "b/tools priority=1 weight=4",
                 "--max-attempts", "2", stdout=out)
    assert "b/tools" in out.getvalue() and "Healthy" in out.getvalue()
    route = selectors.route_list().get(name="fast")
    assert [(t.provider.name, t.model, t.priority, t.weight) for t in route.targets.all()] == [
        ("a", "", 0, 1), ("b", "tools", 1, 4)]
    out = StringIO()
    call_command("routes", "list", "--json", stdout=out)
    listed = json.loads(out.getvalue())
    assert listed[0]["name"] == "fast" and listed[0]["targets"][1]["health"] == "healthy"
    call_command("routes", "change", "fast", "--rename", "quick", "--enabled", "no", stdout=StringIO())
    assert Route.objects.get(name="quick").enabled is False
    with pytest.raises(CommandError, match="provider with this name exists"):
        call_command("routes", "add", "a", "--target", "b/tools", stdout=StringIO())
    with pytest.raises(CommandError, match="priority=N"):
        call_command("routes", "add", "x", "--target", "b/tools prio=1", stdout=StringIO())
    call_command("routes", "delete", "quick", stdout=StringIO())
    assert not Route.objects.exists()
