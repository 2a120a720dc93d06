"""``claude_cli`` children never outlive their request: a timeout or a client
disconnect kills the child and its process group; concurrency is bounded."""
from __future__ import annotations

import json
import threading

import httpx
import openai
import pytest

from providers.adapters.subprocess_util import pid_alive
from tests.conftest import wait_until
from tests.contracts.http_api.helpers import ask, chunks_before_error, sdk_client, text_of
from tests.fakes.scripted_cli import command_for, processes_in


@pytest.fixture
def setup(make_provider, tmp_path, allow_programs):
    work = tmp_path / "work"
    work.mkdir()
    allow_programs(command_for(str(tmp_path)), tools=True)  # the program, and a working directory
    record = tmp_path / "record.json"

    def make(name, mode, **settings):
        env = {"SCRIPTED_CLI_MODE": mode, "SCRIPTED_CLI_RECORD": str(record)}
        make_provider(name=name, provider_type="claude_cli",
                      settings={"command": command_for(str(tmp_path)), "env": env, "cwd": str(work), **settings})

    make.record = record  # type: ignore[attr-defined]
    make.work = work  # type: ignore[attr-defined]
    yield make
    assert wait_until(lambda: processes_in(str(work)) == []), "a child process was left behind"


def test_hanging_child_is_killed_at_the_timeout(setup, live_gateway, gateway_key):
    setup("hang", "hang", timeout=1.5)
    with sdk_client(live_gateway, gateway_key, timeout=60) as client:
        with pytest.raises(openai.APIStatusError) as info:
            client.chat.completions.create(model="hang/sonnet", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 504
    assert info.value.body["code"] == "upstream_timeout"
    seen = json.loads(setup.record.read_text())
    assert not pid_alive(seen["pid"])
    assert wait_until(lambda: not pid_alive(seen["grandchild"])), "the grandchild in the process group survived"


def test_timeout_mid_stream_ends_with_an_error_event(setup, live_gateway, gateway_key):
    setup("stall", "stall", timeout=1.5)
    with sdk_client(live_gateway, gateway_key, timeout=60) as client:
        got, error = chunks_before_error(client, "stall/sonnet")
    assert text_of(got) == "Hello"
    assert "did not answer in time" in error.message
    assert not pid_alive(json.loads(setup.record.read_text())["pid"])


def test_client_disconnect_kills_the_child(setup, live_gateway, gateway_key):
    setup("stall", "stall", timeout=300)
    with httpx.Client(base_url=live_gateway.url, timeout=30) as http:
        with http.stream("POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {gateway_key}"},
                         json={"model": "stall/sonnet", "stream": True,
                               "messages": [{"role": "user", "content": "hi"}]}) as resp:
            assert resp.status_code == 200
            chunks = resp.iter_bytes()  # kept referenced: a dropped iterator closes the response
            first = next(chunks)
            assert b"assistant" in first
            pid = json.loads(setup.record.read_text())["pid"]
            assert pid_alive(pid)
    assert wait_until(lambda: not pid_alive(pid)), "the child kept running after the client left"


def _hold_stream(gateway, key, model, opened, release, content="hi"):
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        with http.stream("POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                         json={"model": model, "stream": True, "messages": [{"role": "user", "content": content}]}) as resp:
            chunks = resp.iter_bytes()  # kept referenced: a dropped iterator closes the response
            next(chunks)
            opened.set()
            release.wait(30)


def test_children_are_bounded_by_default_and_excess_waits_then_gets_429(setup, live_gateway, gateway_key, monkeypatch):
    from providers.adapters import claude_cli

    # No max_concurrency setting: the adapter's own default bound applies
    # (through the gateway's one limiter, chat/limits.py).
    monkeypatch.setattr(claude_cli, "DEFAULT_CONCURRENCY", 1)
    monkeypatch.setattr(claude_cli, "QUEUE_WAIT", 0.5)
    setup("busy", "stall", timeout=300)
    opened, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_stream, args=(live_gateway, gateway_key, "busy/sonnet", opened, release))
    holder.start()
    try:
        assert opened.wait(30)
        with sdk_client(live_gateway, gateway_key, timeout=30) as client:
            with pytest.raises(openai.RateLimitError) as info:
                client.chat.completions.create(model="busy/sonnet", messages=[{"role": "user", "content": "hi"}])
        assert info.value.body["code"] == "concurrency_limit_exceeded"
        assert info.value.response.headers["retry-after"] == "1"
        assert len(processes_in(str(setup.work))) == 1  # the second request never started a child
    finally:
        release.set()
        holder.join(30)


def test_a_waiting_request_gets_the_slot_when_it_frees(setup, live_gateway, gateway_key, monkeypatch):
    from chat import limits
    from providers.adapters import claude_cli

    monkeypatch.setattr(claude_cli, "DEFAULT_CONCURRENCY", 1)
    monkeypatch.setattr(claude_cli, "QUEUE_WAIT", 60.0)
    setup("queue", "ok", timeout=300)
    opened, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_stream, args=(live_gateway, gateway_key, "queue/sonnet", opened, release),
                              kwargs={"content": "STALL"})
    holder.start()
    answers = []
    try:
        assert opened.wait(30)

        def wait_for_an_answer():
            with sdk_client(live_gateway, gateway_key, timeout=60) as c:
                answers.append(ask(c, "queue/sonnet"))

        asker = threading.Thread(target=wait_for_an_answer)
        asker.start()
        assert wait_until(lambda: limits._limiters["queue"]._waiters), "the second request did not queue"
        assert len(processes_in(str(setup.work))) == 1
        release.set()  # the holder leaves; its child is killed and the slot passes on
        asker.join(60)
    finally:
        release.set()
        holder.join(30)
    assert answers and answers[0].choices[0].message.content == "Hello from script"
