"""A scripted stand-in for the Claude Code CLI, for failure cases the real one
cannot be made to show on demand. Standard library only.

Run as ``python scripted_cli.py <any CLI flags>``; the behaviour comes from the
environment, so the gateway's argv stays exactly what it sends to the real CLI:

- ``SCRIPTED_CLI_MODE``:
  ``ok`` (a short streamed answer "Hello from script" and a success result;
  when the prompt contains ``STALL`` it behaves as ``stall``),
  ``crash`` (an init line, a message on stderr, exit status 3),
  ``garbage`` (a line that is not JSON, then waits),
  ``hang`` (an init line, then sleeps forever; it also starts a grandchild
  ``sleep`` in its process group),
  ``stall`` (an init line and one text delta, then sleeps forever),
  ``api-error`` (a failed result with ``api_error_status`` 429),
  ``api-retry`` (what the real CLI prints when its API cannot be reached: a
  ``system``/``api_retry`` line every 0.2 s with ``error_status`` null, for a minute),
  ``silent`` (exits 0 without printing anything),
  ``envdump`` (an init line, then its environment, PATH aside, on one stderr
  line, exit status 3: a program that shows its secrets when it fails);
- ``SCRIPTED_CLI_RECORD``: a file to which it writes, as JSON, its argv, pid,
  the grandchild's pid, the stdin it read, and whether ``ANTHROPIC_API_KEY`` and
  a few other variables were set (values only for the non-secret ones).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def event(evt: dict) -> None:
    emit({"type": "stream_event", "event": evt, "session_id": "s-1", "parent_tool_use_id": None})


def main() -> int:
    mode = os.environ.get("SCRIPTED_CLI_MODE", "ok")
    record_path = os.environ.get("SCRIPTED_CLI_RECORD")
    stdin = "" if mode in ("hang", "garbage") else sys.stdin.read()
    grandchild = None
    if mode == "hang":
        grandchild = subprocess.Popen(["sleep", "3600"])
    if record_path:
        record = {
            "argv": sys.argv[1:],
            "pid": os.getpid(),
            "grandchild": grandchild.pid if grandchild else None,
            "stdin": stdin,
            "key_set": "ANTHROPIC_API_KEY" in os.environ,
            "key_length": len(os.environ.get("ANTHROPIC_API_KEY", "")),
            "env": {k: os.environ.get(k) for k in ("ANTHROPIC_BASE_URL", "DISABLE_AUTOUPDATER", "HOME", "EXTRA_VAR",
                                                   "DJANGO_SETTINGS_MODULE", "GATEWAY_ENCRYPTION_KEY")},
            "cwd": os.getcwd(),
            "system_file": None,
        }
        for arg in sys.argv:
            if arg.startswith("--system-prompt-file="):
                path = arg.split("=", 1)[1]
                with open(path, encoding="utf-8") as fh:
                    record["system_file"] = {"path": path, "text": fh.read()}
        with open(record_path + ".tmp", "w") as fh:
            json.dump(record, fh)
        os.replace(record_path + ".tmp", record_path)
    if mode == "ok" and "STALL" in stdin:
        mode = "stall"
    if mode == "silent":
        return 0
    if mode == "garbage":
        sys.stdout.write("this is not json\n")
        sys.stdout.flush()
        time.sleep(3600)
        return 0
    emit({"type": "system", "subtype": "init", "session_id": "s-1", "model": "scripted", "tools": []})
    if mode == "crash":
        sys.stderr.write("boom: the scripted CLI crashed\n")
        return 3
    if mode == "envdump":
        sys.stderr.write(env_line() + "\n")
        return 3
    if mode == "hang":
        time.sleep(3600)
        return 0
    if mode == "api-error":
        emit({"type": "result", "subtype": "success", "is_error": True, "api_error_status": 429,
              "result": "API Error: 429 rate limited by the scripted upstream", "session_id": "s-1"})
        return 1
    if mode == "api-retry":
        for attempt in range(1, 301):
            emit({"type": "system", "subtype": "api_retry", "attempt": attempt, "max_retries": 10,
                  "retry_delay_ms": 200, "error_status": None, "error": "unknown", "session_id": "s-1",
                  "uuid": f"u-{attempt}"})
            time.sleep(0.2)
        return 1
    event({"type": "message_start", "message": {"id": "msg_script", "type": "message", "role": "assistant",
                                                "model": "scripted", "content": [],
                                                "usage": {"input_tokens": 3, "output_tokens": 1}}})
    event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}})
    if mode == "stall":
        time.sleep(3600)
        return 0
    event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " from script"}})
    emit({"type": "assistant", "message": {"id": "msg_script", "role": "assistant", "model": "scripted",
                                           "content": [{"type": "text", "text": "Hello from script"}]},
          "session_id": "s-1", "parent_tool_use_id": None})
    event({"type": "content_block_stop", "index": 0})
    event({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 4}})
    event({"type": "message_stop"})
    emit({"type": "result", "subtype": "success", "is_error": False, "result": "Hello from script",
          "stop_reason": "end_turn", "session_id": "s-1",
          "usage": {"input_tokens": 3, "output_tokens": 4, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}})
    return 0


def env_line() -> str:
    """The environment as one line (PATH left out: long, and no secret)."""
    return "env: " + " ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k != "PATH")


def command_for(directory: str) -> str:
    """Write an executable wrapper in ``directory`` that runs this script with the
    current Python; use its path as a provider's ``command``."""
    path = os.path.join(directory, "scripted-claude")
    with open(path, "w") as fh:
        fh.write(f'#!/bin/sh\nexec "{sys.executable}" "{os.path.abspath(__file__)}" "$@"\n')
    os.chmod(path, 0o755)
    return path


def processes_in(directory: str) -> list[int]:
    """Pids of live processes whose working directory is ``directory`` (leak checks)."""
    target = os.path.realpath(directory)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.path.realpath(f"/proc/{entry}/cwd") != target:
                continue
            with open(f"/proc/{entry}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if state != b"Z":
            found.append(int(entry))
    return found


if __name__ == "__main__":
    sys.exit(main())
