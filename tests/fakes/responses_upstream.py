"""A real OpenAI Responses API server on 127.0.0.1 (the ChatGPT Codex backend's
shape) for contract tests of the ``codex`` provider type.

Like the ChatGPT backend it only streams: ``stream`` must be true (400 otherwise).
Events are SSE with ``event:`` lines. The requested ``model`` picks the behaviour:

- ``text``: "Hello from fake" as three ``response.output_text.delta`` events;
- ``tools``: a ``function_call`` item (``call_abc``/``get_weather``) with two
  argument deltas;
- ``reasoning``: a reasoning item with summary deltas, then the text "42";
- ``whole``: items that arrive only in ``response.output_item.done`` (no deltas);
- ``length``: text then ``response.incomplete`` (``max_output_tokens``);
- ``failed``: ``response.created`` then ``response.failed``;
- ``ratelimited``: ``response.failed`` with ``rate_limit_exceeded``;
- ``error-event``: some text then an ``error`` event;
- ``premature``: some text, then the stream ends cleanly without ``response.completed``;
- ``drop``: some text, then the TCP connection is dropped;
- ``stall``: some text, then nothing (for disconnects);
- ``trickle``: a text delta every 0.1 s for a minute (open streams);
- ``garbage``: an event whose data is not JSON;
- ``flaky-N``: HTTP 503 to the first N requests with this model, then text;
- ``status-NNN``: HTTP NNN with an OpenAI error body; ``detail-NNN``: with the
  backend's ``{"detail": ...}`` body.
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import AppFake, Seen, seen

CREATED = 1_700_000_000
USAGE = {
    "input_tokens": 5,
    "output_tokens": 3,
    "total_tokens": 8,
}
REASONING_USAGE = {
    "input_tokens": 5,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 9,
    "output_tokens_details": {"reasoning_tokens": 6},
    "total_tokens": 14,
}


def _response(model: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"id": "resp_fake", "object": "response", "created_at": CREATED, "model": model, "status": status,
            "output": [], **extra}


def _text_events(text_parts: list[str], output_index: int = 0) -> list[dict[str, Any]]:
    item = {"type": "message", "id": f"msg_{output_index}", "role": "assistant", "status": "in_progress", "content": []}
    events: list[dict[str, Any]] = [
        {"type": "response.output_item.added", "output_index": output_index, "item": item},
        {"type": "response.content_part.added", "item_id": item["id"], "output_index": output_index, "content_index": 0,
         "part": {"type": "output_text", "text": "", "annotations": []}},
    ]
    for part in text_parts:
        events.append({"type": "response.output_text.delta", "item_id": item["id"], "output_index": output_index,
                       "content_index": 0, "delta": part})
    text = "".join(text_parts)
    events.append({"type": "response.output_text.done", "item_id": item["id"], "output_index": output_index,
                   "content_index": 0, "text": text})
    done = {**item, "status": "completed", "content": [{"type": "output_text", "text": text, "annotations": []}]}
    events.append({"type": "response.output_item.done", "output_index": output_index, "item": done})
    return events


def script_for(model: str) -> list[dict[str, Any]]:
    """The events (without the trailing completion) of a streamed answer for ``model``."""
    if model == "tools":
        item = {"type": "function_call", "id": "fc_1", "call_id": "call_abc", "name": "get_weather", "arguments": "",
                "status": "in_progress"}
        return [
            {"type": "response.output_item.added", "output_index": 0, "item": item},
            {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0, "delta": "{\"city\": "},
            {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0, "delta": "\"Hanoi\"}"},
            {"type": "response.function_call_arguments.done", "item_id": "fc_1", "output_index": 0,
             "arguments": "{\"city\": \"Hanoi\"}"},
            {"type": "response.output_item.done", "output_index": 0,
             "item": {**item, "arguments": "{\"city\": \"Hanoi\"}", "status": "completed"}},
        ]
    if model == "reasoning":
        item = {"type": "reasoning", "id": "rs_1", "summary": []}
        return [
            {"type": "response.output_item.added", "output_index": 0, "item": item},
            {"type": "response.reasoning_summary_part.added", "item_id": "rs_1", "output_index": 0, "summary_index": 0,
             "part": {"type": "summary_text", "text": ""}},
            {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 0,
             "delta": "Let me think"},
            {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 0,
             "delta": " carefully."},
            {"type": "response.output_item.done", "output_index": 0, "item": {**item, "summary": [
                {"type": "summary_text", "text": "Let me think carefully."}]}},
            *_text_events(["42"], output_index=1),
        ]
    if model == "whole":
        return [
            {"type": "response.output_item.done", "output_index": 0, "item": {
                "type": "message", "id": "msg_w", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": "Whole answer", "annotations": []}]}},
            {"type": "response.output_item.done", "output_index": 1, "item": {
                "type": "function_call", "id": "fc_w", "call_id": "call_whole", "name": "lookup",
                "arguments": "{\"q\": 1}", "status": "completed"}},
        ]
    return _text_events(["Hello", " from", " fake"])


@dataclass
class FakeResponsesUpstream(AppFake):
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[Seen] = field(default_factory=list)
    disconnects: list[float] = field(default_factory=list)
    thread_name = "fake-responses-upstream"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/backend-api/codex"

    async def responses(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(seen(request, body))
        model = body.get("model", "")
        if model.startswith("status-"):
            status = int(model.split("-")[1])
            headers = {"Retry-After": "7"} if status == 429 else {}
            return web.json_response(
                {"error": {"message": f"fake says {status}", "type": "fake_error", "param": None, "code": f"fake_{status}"}},
                status=status, headers=headers,
            )
        if model.startswith("flaky-") and sum(
                1 for r in self.requests if r.body.get("model") == model) <= int(model.split("-")[1]):
            return web.json_response({"error": {"message": "fake is busy", "type": "server_error", "param": None,
                                                "code": "fake_503"}}, status=503)
        if model.startswith("detail-"):
            status = int(model.split("-")[1])
            return web.json_response({"detail": f"fake detail {status}"}, status=status)
        if body.get("stream") is not True:
            return web.json_response({"detail": "Stream must be set to true"}, status=400)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        try:
            await self._play(request, resp, model)
        except (ConnectionResetError, asyncio.CancelledError):
            self.disconnects.append(time.monotonic())
            raise
        return resp

    async def _play(self, request: web.Request, resp: web.StreamResponse, model: str) -> None:
        async def send(event: dict[str, Any]) -> None:
            await resp.write(b"event: " + event["type"].encode() + b"\ndata: " + json.dumps(event).encode() + b"\n\n")
            await asyncio.sleep(0.002)

        seq = [0]

        def numbered(event: dict[str, Any]) -> dict[str, Any]:
            seq[0] += 1
            return {**event, "sequence_number": seq[0]}

        await send(numbered({"type": "response.created", "response": _response(model, "in_progress")}))
        await send(numbered({"type": "response.in_progress", "response": _response(model, "in_progress")}))
        if model in ("failed", "ratelimited"):
            code, message = ("rate_limit_exceeded", "Slow down") if model == "ratelimited" else (
                "server_error", "The model crashed")
            await send(numbered({"type": "response.failed", "response": _response(
                model, "failed", error={"code": code, "message": message})}))
            return
        if model == "garbage":
            await resp.write(b"event: response.output_text.delta\ndata: this is not json\n\n")
            return
        if model == "trickle":
            for event in _text_events(["."])[:3]:
                await send(numbered(event))
            for _tick in range(600):
                await asyncio.sleep(0.1)
                await send(numbered({"type": "response.output_text.delta", "item_id": "msg_0", "output_index": 0,
                                     "content_index": 0, "delta": "."}))
        if model in ("error-event", "premature", "drop", "stall", "length"):
            for event in _text_events(["Partial"])[:3]:
                await send(numbered(event))
            if model == "error-event":
                await send(numbered({"type": "error", "code": "server_overloaded", "message": "overloaded, try later",
                                     "param": None}))
            elif model == "length":
                await send(numbered({"type": "response.incomplete", "response": _response(
                    model, "incomplete", incomplete_details={"reason": "max_output_tokens"}, usage=USAGE)}))
            elif model == "drop":
                assert request.transport is not None
                request.transport.close()
            elif model == "stall":
                await asyncio.sleep(3600)
            await resp.write_eof()
            return
        for event in script_for(model):
            await send(numbered(event))
        usage = REASONING_USAGE if model == "reasoning" else USAGE
        await send(numbered({"type": "response.completed", "response": _response(model, "completed", usage=usage)}))
        await resp.write_eof()

    # -- lifecycle ----------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/backend-api/codex/responses", self.responses)
        return app

    def last(self) -> Seen:
        return self.requests[-1]


def shape_of(value: Any) -> Any:
    """The structure of a JSON value: keys and value types, not values."""
    if isinstance(value, dict):
        return {k: shape_of(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape_of(v) for v in value]
    return type(value).__name__
