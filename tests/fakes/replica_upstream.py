"""One replica of an OpenAI-compatible backend in a process of its own, so a test can
kill it (SIGKILL, mid-stream) and start it again on the same port::

    python -m tests.fakes.replica_upstream --port 8101 --name a

Every answer names the replica (``"content": "from a"``), so the client sees which
replica served it. A stream sends ``--frames`` chunks ``--gap`` seconds apart.
``Replica`` starts, kills and restarts one from a test."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def chunk(name: str, model: str, delta: dict, finish: str | None = None) -> bytes:
    body = {"id": f"chatcmpl-{name}", "object": "chat.completion.chunk", "created": 1, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def main() -> None:  # pragma: no cover - runs in the replica's own process
    from aiohttp import web

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--gap", type=float, default=0.01)
    args = parser.parse_args()
    name = args.name

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        model = body.get("model", "")
        if not body.get("stream"):
            return web.json_response({
                "id": f"chatcmpl-{name}", "object": "chat.completion", "created": 1, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": f"from {name}"},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(chunk(name, model, {"role": "assistant", "content": f"from {name}"}))
        for i in range(args.frames):
            await asyncio.sleep(args.gap)
            await resp.write(chunk(name, model, {"content": f" {i}"}))
        await resp.write(chunk(name, model, {}, "stop") + b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    async def models(request: web.Request) -> web.StreamResponse:
        return web.json_response({"object": "list", "data": [{"id": "m", "object": "model"}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, reuse_address=True)


class Replica:
    """A replica process on a fixed port: ``start()``, ``kill()`` (SIGKILL), ``start()`` again."""

    def __init__(self, name: str, port: int, *, frames: int = 5, gap: float = 0.01) -> None:
        self.name, self.port, self.frames, self.gap = name, port, frames, gap
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> Replica:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.replica_upstream", "--port", str(self.port), "--name", self.name,
             "--frames", str(self.frames), "--gap", str(self.gap)],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"replica {self.name} did not start") from None
                time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


if __name__ == "__main__":  # pragma: no cover
    main()
