"""A bad entry anywhere in the file rolls the whole import back, and the error
names the entry and the field."""
from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from providers import services
from providers.onboarding import config_io

from .helpers import state

BAD_URL = """
providers:
  - name: first
    type: custom
    base_url: http://127.0.0.1:9000/v1
  - name: existing
    type: custom
    base_url: http://127.0.0.1:9999/v1
  - name: broken
    type: custom
    base_url: ftp://example.com/v1
"""


def test_a_bad_entry_changes_nothing_and_is_named(db, tmp_path):
    services.provider_create(name="existing", provider_type="custom", base_url="http://127.0.0.1:9001/v1")
    before = state()
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_URL)

    with pytest.raises(config_io.ConfigError) as info:
        config_io.import_file(str(path))

    assert info.value.problems == [
        ("providers[2] “broken”", "base_url", "Enter an absolute http:// or https:// URL."),
    ]
    assert state() == before


def test_the_command_reports_entry_and_field(db, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_URL)
    with pytest.raises(CommandError) as info:
        call_command("providers", "import", str(path))
    message = str(info.value)
    assert "Nothing was imported" in message
    assert "providers[2] “broken”, field “base_url”: Enter an absolute http:// or https:// URL." in message
    assert state() == {}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("providers:\n  - name: a\n    type: nope\n    base_url: http://127.0.0.1:1/v1\n",
         ("providers[0] “a”", "type")),
        ("providers:\n  - name: a\n    type: custom\n    base_url: http://127.0.0.1:1/v1\n    colour: blue\n",
         ("providers[0] “a”", "colour")),
        ("providers:\n  - name: a\n    type: custom\n    base_url: http://127.0.0.1:1/v1\n    api_key: {env: H_ONBOARD_UNSET_VAR}\n",
         ("providers[0] “a”", "api_key")),
        ("providers:\n  - name: a\n    type: custom\n    base_url: http://127.0.0.1:1/v1\n    settings: {read_timeout: -1}\n",
         ("providers[0] “a”", "settings")),
        ("providers:\n  - {name: a, type: custom, base_url: 'http://127.0.0.1:1/v1'}\n  - {name: a, type: custom, base_url: 'http://127.0.0.1:2/v1'}\n",
         ("providers[1] “a”", "name")),
        ("providers:\n  - type: custom\n", ("providers[0]", "name")),
    ],
)
def test_each_kind_of_mistake_names_its_entry_and_field(db, tmp_path, monkeypatch, text, problem):
    monkeypatch.delenv("H_ONBOARD_UNSET_VAR", raising=False)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(config_io.ConfigError) as info:
        config_io.import_file(str(path))
    assert problem in [(entry, fld) for entry, fld, _message in info.value.problems]
    assert state() == {}


def test_a_file_that_is_not_yaml_is_refused(db, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(config_io.ConfigError) as info:
        config_io.import_file(str(path))
    assert info.value.lines()[0].startswith("The file is not valid JSON")
