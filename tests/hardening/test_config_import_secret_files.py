"""``file:`` secret references in a config import read only inside one directory:
GATEWAY_SECRETS_DIR, or by default the imported file's own directory, checked
after resolving ``../`` and symlinks. Anything else is an error naming the
setting, and nothing at all is imported (not even the valid entries before it)."""
from __future__ import annotations

import os

import pytest
from django.core.management import CommandError, call_command

from providers.models import Provider
from providers.onboarding import config_io

OUTSIDE_SECRET = "sk-outside-the-secrets-dir-7731"
INSIDE_SECRET = "sk-inside-the-secrets-dir-1177"
REFUSED = "only files inside GATEWAY_SECRETS_DIR (default: the directory of the imported file) can be read."


@pytest.fixture
def layout(tmp_path, settings):
    """tmp/config/{providers.yaml, key.txt, sub/} and tmp/elsewhere/key.txt."""
    settings.GATEWAY_SECRETS_DIR = ""
    config = tmp_path / "config"
    (config / "sub").mkdir(parents=True)
    (config / "key.txt").write_text(INSIDE_SECRET + "\n")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "key.txt").write_text(OUTSIDE_SECRET + "\n")
    return tmp_path


def write_config(layout, reference: str) -> str:
    path = layout / "config" / "providers.yaml"
    path.write_text(
        "providers:\n"
        "  - {name: first, type: custom, base_url: 'http://127.0.0.1:1/v1'}\n"
        f"  - {{name: second, type: custom, base_url: 'http://127.0.0.1:1/v1', api_key: {reference}}}\n"
    )
    return str(path)


def assert_refused(path: str) -> None:
    with pytest.raises(config_io.ConfigError) as caught:
        config_io.import_file(path)
    (entry, field, message), = caught.value.problems
    assert (entry, field) == ("providers[1] “second”", "api_key")
    assert "is outside the secrets directory" in message and REFUSED in message
    assert OUTSIDE_SECRET not in str(caught.value)
    assert not Provider.objects.exists()  # the valid first entry was not imported either


@pytest.mark.parametrize("reference", [
    "{file: /etc/passwd}",
    "{file: ELSEWHERE}",
    "{file: ../elsewhere/key.txt}",
    "{file: sub/../../elsewhere/key.txt}",
    "{file: ELSEWHERE, optional: true}",
], ids=["etc-passwd", "absolute-outside", "dot-dot", "dot-dot-via-subdir", "optional-outside"])
def test_a_reference_outside_the_directory_is_refused_and_nothing_is_imported(db, layout, reference):
    assert_refused(write_config(layout, reference.replace("ELSEWHERE", str(layout / "elsewhere" / "key.txt"))))


def test_a_symlink_inside_that_points_outside_is_refused(db, layout):
    os.symlink(layout / "elsewhere" / "key.txt", layout / "config" / "link.txt")
    os.symlink(layout / "elsewhere", layout / "config" / "linkdir")
    assert_refused(write_config(layout, "{file: link.txt}"))
    assert_refused(write_config(layout, "{file: linkdir/key.txt}"))


def test_the_command_reports_the_refusal_and_imports_nothing(db, layout):
    path = write_config(layout, "{file: ../elsewhere/key.txt}")
    with pytest.raises(CommandError) as caught:
        call_command("providers", "import", path)
    assert "Nothing was imported" in str(caught.value) and "GATEWAY_SECRETS_DIR" in str(caught.value)
    assert not Provider.objects.exists()


@pytest.mark.parametrize("reference", ["{file: key.txt}", "{file: CONFIG/key.txt}", "{file: sub/../key.txt}"])
def test_a_file_inside_the_directory_is_read(db, layout, reference):
    config_io.import_file(write_config(layout, reference.replace("CONFIG", str(layout / "config"))))
    assert Provider.objects.get(name="second").api_key == INSIDE_SECRET


def test_the_setting_widens_the_directory(db, layout, settings):
    settings.GATEWAY_SECRETS_DIR = str(layout)
    config_io.import_file(write_config(layout, "{file: ../elsewhere/key.txt}"))
    assert Provider.objects.get(name="second").api_key == OUTSIDE_SECRET


def test_the_setting_narrows_the_directory(db, layout, settings):
    settings.GATEWAY_SECRETS_DIR = str(layout / "config" / "sub")
    assert_refused(write_config(layout, "{file: key.txt}"))
    (layout / "config" / "sub" / "key.txt").write_text(INSIDE_SECRET)
    config_io.import_file(write_config(layout, "{file: sub/key.txt}"))
    assert Provider.objects.get(name="second").api_key == INSIDE_SECRET


def test_standard_input_may_read_files_only_with_the_setting(db, layout, settings, monkeypatch):
    import io

    document = ("providers:\n  - {name: second, type: custom, base_url: 'http://127.0.0.1:1/v1', "
                f"api_key: {{file: {layout / 'config' / 'key.txt'}}}}}\n")
    monkeypatch.setattr("sys.stdin", io.StringIO(document))
    with pytest.raises(config_io.ConfigError) as caught:
        config_io.import_file("-")
    assert "set GATEWAY_SECRETS_DIR" in str(caught.value)
    assert not Provider.objects.exists()
    settings.GATEWAY_SECRETS_DIR = str(layout / "config")
    monkeypatch.setattr("sys.stdin", io.StringIO(document))
    config_io.import_file("-")
    assert Provider.objects.get(name="second").api_key == INSIDE_SECRET
