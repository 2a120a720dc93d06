"""The README's ``manage.py providers import examples/providers.yaml --dry-run`` works on
a fresh machine with none of the file's secrets: the secrets it cannot resolve are
reported as findings, everything else is validated, and the exit status is 0. Only an
invalid entry makes it fail. Run as a user would: a subprocess with an empty environment."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def manage(tmp_path_factory: pytest.TempPathFactory):
    var_dir = tmp_path_factory.mktemp("var")
    # Nothing from this machine's environment: no provider keys, no settings.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(var_dir), "PYTHONPATH": str(ROOT), "GATEWAY_VAR_DIR": str(var_dir)}

    def run(*args: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
                              env={**env, "DEBUG": "true"} if debug else env, timeout=120)

    done = run("migrate", "-v", "0", debug=True)  # what run.sh did on this machine before
    assert done.returncode == 0, done.stderr
    return run


def test_the_example_file_dry_runs_with_its_secrets_missing(manage):
    done = manage("providers", "import", "examples/providers.yaml", "--dry-run")

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Secrets not available here" in out
    assert "“litellm”, field “api_key”: The environment variable LITELLM_MASTER_KEY is not set." in out
    assert "“fireworks”, field “api_key”: The file secrets/fireworks_api_key cannot be read." in out
    assert "Dry run: nothing was changed. 8 to create, 0 to update, 0 to delete, 0 unchanged." in out


def test_the_json_report_lists_findings_apart_from_changes(manage):
    done = manage("providers", "import", "examples/providers.yaml", "--dry-run", "--json")

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["counts"] == {"create": 8, "update": 0, "delete": 0, "unchanged": 0}
    assert [(f["entry"], f["field"]) for f in report["findings"]] == [
        ("providers[3] “litellm”", "api_key"), ("providers[4] “openrouter”", "api_key"),
        ("providers[5] “together”", "api_key"), ("providers[6] “groq”", "api_key"),
        ("providers[7] “fireworks”", "api_key"),
    ]
    assert "unresolved-secret" not in done.stdout  # the stand-in value is never shown


def test_an_invalid_entry_still_fails_the_dry_run(manage, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nproviders:\n"
                    "  - {name: ok, type: custom, base_url: 'http://127.0.0.1:9/v1', api_key: {env: MISSING_KEY}}\n"
                    "  - {name: bad, type: nosuchtype, base_url: 'http://127.0.0.1:9/v1'}\n")

    done = manage("providers", "import", str(path), "--dry-run")

    assert done.returncode != 0
    assert "Nothing was imported" in done.stderr and "“bad”" in done.stderr and "type" in done.stderr


def test_a_real_import_still_refuses_a_missing_secret(manage):
    done = manage("providers", "import", "examples/providers.yaml")

    assert done.returncode != 0
    assert "LITELLM_MASTER_KEY is not set" in done.stderr
    listed = manage("providers", "list", "--json")
    assert json.loads(listed.stdout) == []
