"""The gettext catalogs are complete: no untranslated or fuzzy entry in vi or zh_Hans, and
every string in the source (as makemessages extracts it) has a translation."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = {"vi": ROOT / "locale/vi/LC_MESSAGES/django.po", "zh_Hans": ROOT / "locale/zh_Hans/LC_MESSAGES/django.po"}
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|\{[\w:]*\}")


def parse_po(path: Path) -> list[dict]:
    """Entries of a .po file: flags, msgid, msgid_plural and msgstr(s), obsolete ones left out."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines or all(line.startswith("#~") or line.startswith("#") for line in lines):
            continue
        entry: dict = {"flags": set(), "msgstr": []}
        key = None
        for line in lines:
            if line.startswith("#,"):
                entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif match := re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$', line):
                key = match.group(1)
                value = _unquote(match.group(2))
                if key.startswith("msgstr"):
                    entry["msgstr"].append(value)
                    key = "msgstr"
                else:
                    entry[key] = value
            elif line.startswith('"'):
                if key == "msgstr":
                    entry["msgstr"][-1] += _unquote(line)
                else:
                    entry[key] += _unquote(line)
        entries.append(entry)
    return entries


ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(quoted: str) -> str:
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), "\\" + m.group(1)), quoted[1:-1])


def messages(path: Path) -> list[dict]:
    return [e for e in parse_po(path) if e.get("msgid")]


@pytest.mark.parametrize("language", sorted(CATALOGS))
def test_no_untranslated_or_fuzzy_entries(language):
    path = CATALOGS[language]
    entries = messages(path)
    assert len(entries) > 100
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    untranslated = [e["msgid"] for e in entries if not e["msgstr"] or not all(e["msgstr"])]
    assert fuzzy == [], f"fuzzy entries in {path}"
    assert untranslated == [], f"untranslated entries in {path}"


@pytest.mark.parametrize("language", sorted(CATALOGS))
def test_msgfmt_agrees_and_formats_match(language):
    if shutil.which("msgfmt") is None:
        pytest.skip("msgfmt (GNU gettext) is not installed")
    result = subprocess.run(["msgfmt", "--check", "--statistics", "-o", os.devnull, str(CATALOGS[language])],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "fuzzy" not in result.stderr and "untranslated" not in result.stderr, result.stderr
    for entry in messages(CATALOGS[language]):
        for text in entry["msgstr"]:
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(entry["msgid"])), entry["msgid"]


@pytest.mark.parametrize(("language", "expected"), [("vi", "Nhà cung cấp tùy chỉnh"), ("zh_Hans", "自定义提供商")])
def test_custom_provider_label(language, expected):
    [entry] = [e for e in messages(CATALOGS[language]) if e["msgid"] == "Custom Provider"]
    assert entry["msgstr"] == [expected]


def test_every_source_string_is_in_the_catalogs(tmp_path):
    """Run makemessages on a copy of the project and check it finds nothing new to translate."""
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        pytest.skip("GNU gettext (xgettext, msgmerge) is not installed")
    copy = tmp_path / "project"
    shutil.copytree(
        ROOT, copy, symlinks=True,
        ignore=shutil.ignore_patterns(".venv", "tests", "var", ".git", "node_modules", "__pycache__", "*.mo",
                                      "*.sqlite3", "bench-results", ".pytest_cache"),
    )
    env = {**os.environ, "GATEWAY_TESTING": "1", "GATEWAY_VAR_DIR": str(tmp_path / "var"),
           "DJANGO_SETTINGS_MODULE": "gateway.settings", "PYTHONPATH": str(copy)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "vi", "-l", "zh_Hans",
         "--ignore=.venv", "--ignore=tests", "--no-obsolete"],
        cwd=copy, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    for language, original in CATALOGS.items():
        fresh = messages(copy / "locale" / language / "LC_MESSAGES/django.po")
        known = {e["msgid"] for e in messages(original)}
        missing = sorted(e["msgid"] for e in fresh if e["msgid"] not in known)
        assert missing == [], f"strings in the source but not in {original.relative_to(ROOT)} (run makemessages)"
        incomplete = sorted(e["msgid"] for e in fresh if "fuzzy" in e["flags"] or not all(e["msgstr"]))
        assert incomplete == [], f"strings without a translation in {language}"
