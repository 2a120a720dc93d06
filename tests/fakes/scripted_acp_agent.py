"""A small scripted ACP agent (JSON-RPC 2.0 over stdio, newline-delimited) for the
cases a real agent will not produce on demand: crashes, garbage, hangs,
permission requests, odd stop reasons.

Run it as ``python scripted_acp_agent.py [--mode MODE]``. Start-up modes:

- ``normal`` (default): behaves per the session's model (below);
- ``crash-on-start``: writes to stderr and exits 3 before answering anything;
- ``envdump-on-start``: writes its environment (PATH aside) on one stderr line
  and exits 3 before answering anything;
- ``garbage-on-start``: answers ``initialize`` with a line that is not JSON;
- ``hang-on-start``: never answers ``initialize``;
- ``leaky``: like ``normal`` but first starts a grandchild (``sleep``) in its group.

It offers a ``model`` config option; the model chosen with
``session/set_config_option`` picks the turn's behaviour:

- ``text`` (default): "Hello from fake" as message chunks, ``end_turn``, with usage;
- ``reasoning``: thought chunks "Let me think" " carefully.", then "42";
- ``echo``: one message chunk holding the JSON of the prompt blocks it got;
- ``permission``: asks ``session/request_permission`` (allow/reject options), then
  says which option it was given;
- ``tool``: a ``tool_call`` and ``tool_call_update`` between two text chunks;
- ``max_tokens``, ``refusal``, ``max_turn_requests``: text then that stop reason;
- ``notice``: "Hello from fake", then Claude Code's notice as claude-agent-acp sends
  it: an ``agent_message_chunk`` marked ``_meta.claudeCode.kind: "informational"``;
- ``prompt-error``: answers the prompt with a JSON-RPC error;
- ``crash``: one chunk, then exits 3 with a message on stderr;
- ``garbage``: one chunk, then a line that is not JSON;
- ``hang``: one chunk, then nothing at all (ignores ``session/cancel``);
- ``slow``: a chunk every 50 ms for a minute, stopping with ``cancelled`` on
  ``session/cancel``.

With ``SCRIPTED_ACP_LOG`` set, every message received and the process ids it
used are appended to that file as JSON lines.
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from typing import Any

LOG = os.environ.get("SCRIPTED_ACP_LOG")
MODELS = ["text", "reasoning", "echo", "permission", "tool", "max_tokens", "refusal", "max_turn_requests",
          "prompt-error", "crash", "garbage", "hang", "slow", "notice"]


def log(entry: dict[str, Any]) -> None:
    if LOG:
        with open(LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")


def send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
    sys.stdout.flush()


def update(session_id: str, body: dict[str, Any]) -> None:
    send({"method": "session/update", "params": {"sessionId": session_id, "update": body}})


def text(session_id: str, value: str, kind: str = "agent_message_chunk") -> None:
    update(session_id, {"sessionUpdate": kind, "content": {"type": "text", "text": value}})


class Agent:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.model = "text"
        self.next_id = 1000
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            message = json.loads(line)
            log({"received": message})
            self.inbox.put(message)
        self.inbox.put(None)

    def next_message(self, timeout: float | None = None) -> dict[str, Any] | None:
        try:
            message = self.inbox.get(timeout=timeout)
        except queue.Empty:
            return {}
        if message is None:
            sys.exit(0)
        return message

    def run(self) -> None:
        log({"pid": os.getpid(), "mode": self.mode, "cwd": os.getcwd(),
             "env": {k: os.environ.get(k) for k in ("ANTHROPIC_API_KEY", "SCRIPTED_ACP_EXTRA", "SECRET_KEY")}})
        if self.mode == "envdump-on-start":
            sys.stderr.write("env: " + " ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k != "PATH") + "\n")
            sys.stderr.flush()
            sys.exit(3)
        if self.mode == "crash-on-start":
            sys.stderr.write("fatal: scripted start-up crash\n")
            sys.stderr.flush()
            sys.exit(3)
        if self.mode == "leaky":
            child = subprocess.Popen(["sleep", "3600"])
            log({"grandchild": child.pid})
        while True:
            message = self.next_message()
            method = message.get("method")
            if method == "initialize":
                if self.mode == "hang-on-start":
                    time.sleep(3600)
                if self.mode == "garbage-on-start":
                    sys.stdout.write("Welcome to the agent! (this is not JSON)\n")
                    sys.stdout.flush()
                    continue
                send({"id": message["id"], "result": {
                    "protocolVersion": 1,
                    "agentCapabilities": {"promptCapabilities": {"image": True, "embeddedContext": False}},
                    "authMethods": [],
                }})
            elif method == "session/new":
                send({"id": message["id"], "result": {"sessionId": "sess-1", "configOptions": [{
                    "id": "model", "name": "Model", "category": "model", "type": "select", "currentValue": "text",
                    "options": [{"value": m, "name": m} for m in MODELS],
                }]}})
            elif method == "session/set_config_option":
                self.model = message["params"]["value"]
                send({"id": message["id"], "result": {"configOptions": []}})
            elif method == "session/prompt":
                self.prompt(message)
            elif "id" in message and method:
                send({"id": message["id"], "error": {"code": -32601, "message": "Method not found"}})

    def prompt(self, message: dict[str, Any]) -> None:
        sid = message["params"]["sessionId"]
        model = self.model
        result: dict[str, Any] = {"stopReason": "end_turn",
                                  "usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8}}
        if model == "prompt-error":
            send({"id": message["id"], "error": {"code": -32603, "message": "Internal error: model unavailable"}})
            return
        if model == "reasoning":
            text(sid, "Let me think", "agent_thought_chunk")
            text(sid, " carefully.", "agent_thought_chunk")
            text(sid, "42")
        elif model == "notice":
            text(sid, "Hello from fake")
            update(sid, {"sessionUpdate": "agent_message_chunk", "_meta": {"claudeCode": {"kind": "informational"}},
                         "content": {"type": "text", "text": "\n\n**Warning:** We're changing auto mode soon."}})
        elif model == "echo":
            text(sid, json.dumps(message["params"]["prompt"]))
        elif model == "permission":
            request_id = self.next_id
            send({"id": request_id, "method": "session/request_permission", "params": {
                "sessionId": sid,
                "toolCall": {"toolCallId": "t1", "title": "Run rm -rf /tmp/x", "kind": "execute", "status": "pending"},
                "options": [
                    {"optionId": "yes", "name": "Allow", "kind": "allow_once"},
                    {"optionId": "always", "name": "Always allow", "kind": "allow_always"},
                    {"optionId": "no", "name": "Reject", "kind": "reject_once"},
                ],
            }})
            while True:
                answer = self.next_message()
                if answer.get("id") == request_id:
                    break
            outcome = answer.get("result", {}).get("outcome", {})
            text(sid, f"permission: {outcome.get('outcome')} {outcome.get('optionId', '-')}")
        elif model == "tool":
            text(sid, "Looking.")
            update(sid, {"sessionUpdate": "tool_call", "toolCallId": "t1", "title": "Read file", "kind": "read",
                         "status": "pending"})
            update(sid, {"sessionUpdate": "tool_call_update", "toolCallId": "t1", "status": "completed"})
            update(sid, {"sessionUpdate": "plan", "entries": []})
            text(sid, " Done.")
        elif model in ("max_tokens", "refusal", "max_turn_requests"):
            text(sid, "Partial")
            result["stopReason"] = model
        elif model == "crash":
            text(sid, "Partial")
            sys.stderr.write("fatal: scripted crash in the middle of a turn\n")
            sys.stderr.flush()
            os._exit(3)
        elif model == "garbage":
            text(sid, "Partial")
            sys.stdout.write("Traceback (most recent call last): not json\n")
            sys.stdout.flush()
            time.sleep(3600)
        elif model == "hang":
            text(sid, "Partial")
            while True:
                time.sleep(3600)
        elif model == "slow":
            for _ in range(1200):
                text(sid, ".")
                incoming = self.next_message(timeout=0.05)
                if incoming.get("method") == "session/cancel":
                    log({"cancelled": True})
                    result = {"stopReason": "cancelled"}
                    break
        else:
            for piece in ("Hello", " from", " fake"):
                text(sid, piece)
        send({"id": message["id"], "result": result})


if __name__ == "__main__":
    mode = "normal"
    if "--mode" in sys.argv:
        mode = sys.argv[sys.argv.index("--mode") + 1]
    Agent(mode).run()
