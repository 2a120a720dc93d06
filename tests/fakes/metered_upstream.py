"""A small OpenAI-compatible upstream on 127.0.0.1 for the limit tests:

- a non-streaming answer after ``delay`` seconds, reporting ``usage.total_tokens``
  = ``tokens`` (so many requests are in flight at once, each of a known cost);
- a stream (``stream: true``) that sends one chunk every ``tick`` seconds for
  ``stream_seconds`` (a long, live stream, to end from the gateway's side).
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from aiohttp import web

from tests.fakes.loopback import AppFake


@dataclass
class MeteredUpstream(AppFake):
    host: str = "127.0.0.1"
    port: int = 0
    delay: float = 0.5
    tokens: int = 2
    tick: float = 0.1
    stream_seconds: float = 60.0
    answered: int = 0
    thread_name = "metered-upstream"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if body.get("stream"):
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            for i in range(int(self.stream_seconds / self.tick)):
                chunk = {"id": "m", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "delta": {"content": f"{i} "}, "finish_reason": None}]}
                await resp.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                await asyncio.sleep(self.tick)
            await resp.write(b"data: [DONE]\n\n")
            return resp
        await asyncio.sleep(self.delay)
        self.answered += 1
        return web.json_response({
            "id": "m", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": self.tokens - 1, "total_tokens": self.tokens},
        })

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        return app
