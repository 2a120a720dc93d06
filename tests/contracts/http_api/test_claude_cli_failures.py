"""A ``claude_cli`` provider whose program fails (missing, crashing, printing
garbage, reporting an error) gives OpenAI-shaped errors, and leaves no child."""
from __future__ import annotations

import json

import openai
import pytest

from tests.contracts.http_api.helpers import ask, sdk_client
from tests.fakes.scripted_cli import command_for, processes_in

SECRET = "sk-ant-scripted-secret-777"


@pytest.fixture(autouse=True)
def _programs_allowed(allow_programs, tmp_path):
    """The operator lists the test's program and a working directory."""
    allow_programs(command_for(str(tmp_path)), "/nonexistent/claude-nowhere", tools=True)


@pytest.fixture
def scripted(make_provider, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    command = command_for(str(tmp_path))
    record = tmp_path / "record.json"

    def make(mode: str, **settings):
        env = {"SCRIPTED_CLI_MODE": mode, "SCRIPTED_CLI_RECORD": str(record), "EXTRA_VAR": "extra"}
        make_provider(name=f"s-{mode}", provider_type="claude_cli", api_key=SECRET,
                      settings={"command": command, "env": env, "cwd": str(work), "timeout": 30, **settings})
        return f"s-{mode}/sonnet"

    make.record = lambda: json.loads(record.read_text())  # type: ignore[attr-defined]
    yield make
    assert processes_in(str(work)) == [], "a child process was left behind"


@pytest.fixture
def client(live_gateway, gateway_key):
    with sdk_client(live_gateway, gateway_key, timeout=60) as c:
        yield c


def test_scripted_cli_answer_and_what_the_child_receives(scripted, client, tmp_path):
    model = scripted("ok", args=["--max-turns", "1"])
    answer = client.chat.completions.create(model=model, messages=[
        {"role": "system", "content": "Be kind."}, {"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "Hello from script"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (3, 4)
    seen = scripted.record()
    assert seen["argv"] == ["-p", "--output-format", "stream-json", "--verbose", "--include-partial-messages",
                            "--no-session-persistence", "--model=sonnet", "--system-prompt=Be kind.",
                            "--tools", "", "--max-turns", "1"]
    assert seen["stdin"] == "hi"
    assert seen["key_set"] and seen["key_length"] == len(SECRET)
    assert SECRET not in json.dumps(seen["argv"])
    assert seen["env"]["EXTRA_VAR"] == "extra"
    assert seen["env"]["DISABLE_AUTOUPDATER"] == "1"
    # the gateway's own settings and secrets stay out of the child
    assert seen["env"]["DJANGO_SETTINGS_MODULE"] is None and seen["env"]["GATEWAY_ENCRYPTION_KEY"] is None
    assert seen["cwd"] == str(tmp_path / "work")


def test_a_very_long_system_prompt_goes_through_a_temporary_file(scripted, client):
    import os

    model = scripted("ok")
    system = "Rules. " * 20000
    client.chat.completions.create(model=model, messages=[{"role": "system", "content": system},
                                                          {"role": "user", "content": "hi"}])
    seen = scripted.record()
    assert not any(a.startswith("--system-prompt=") for a in seen["argv"])
    assert seen["system_file"]["text"] == system
    assert not os.path.exists(seen["system_file"]["path"])  # removed after the run


def test_missing_binary_is_a_clear_error(make_provider, client):
    make_provider(name="nobin", provider_type="claude_cli", settings={"command": "/nonexistent/claude-nowhere"})
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="nobin/sonnet", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 502
    assert info.value.body["code"] == "command_not_found"
    assert "/nonexistent/claude-nowhere" in info.value.body["message"]


@pytest.mark.parametrize("stream", [False, True])
def test_crash_with_nonzero_exit_is_a_502_with_the_reason(scripted, client, stream):
    model = scripted("crash")
    with pytest.raises(openai.InternalServerError) as info:
        ask(client, model, stream=stream)
    body = info.value.body
    assert info.value.status_code == 502
    assert body["code"] == "upstream_process_failed"
    assert "exit status 3" in body["message"] and "boom: the scripted CLI crashed" in body["message"]


def test_exit_without_output_is_an_error(scripted, client):
    model = scripted("silent")
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert "without a result" in info.value.body["message"]


@pytest.mark.parametrize("stream", [False, True])
def test_garbage_output_is_an_error_and_the_child_is_killed(scripted, client, stream):
    model = scripted("garbage")
    with pytest.raises(openai.InternalServerError) as info:
        ask(client, model, stream=stream)
    assert info.value.body["code"] == "upstream_invalid_response"
    # the fixture checks that the sleeping child is gone


def test_reported_api_error_keeps_its_status(scripted, client):
    model = scripted("api-error")
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert "rate limited by the scripted upstream" in info.value.body["message"]
    assert info.value.body["type"] == "rate_limit_error"


def test_images_are_refused_before_any_child_starts(scripted, client, tmp_path):
    model = scripted("ok")
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}}]}])
    assert info.value.body["param"] == "messages[0].content[0]"
    assert not (tmp_path / "record.json").exists()


def test_values_that_look_like_options_stay_values(scripted, client):
    model = scripted("ok")
    client.chat.completions.create(model=model.split("/")[0] + "/--dangerously-skip-permissions", messages=[
        {"role": "system", "content": "--add-dir=/"}, {"role": "user", "content": "hi"}])
    argv = scripted.record()["argv"]
    assert "--model=--dangerously-skip-permissions" in argv and "--system-prompt=--add-dir=/" in argv
    assert "--dangerously-skip-permissions" not in argv and "--add-dir=/" not in argv
