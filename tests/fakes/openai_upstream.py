"""A real OpenAI-compatible server on 127.0.0.1 for contract tests.

The requested ``model`` picks the behaviour, so one server serves every case:

- ``text``: a plain answer ("Hello from fake") streamed in pieces;
- ``tools``: a streamed tool call with index/id/name and argument fragments;
- ``reasoning``: ``reasoning_content`` deltas then content; ``reasoning-or``: ``reasoning``;
- ``groq``: Groq's vendor extras: ``x_groq`` members, ``role`` in every delta, and a
  last chunk with ``choices: null`` and the usage inside ``x_groq``;
- ``comments``: OpenRouter-style ``: OPENROUTER PROCESSING`` comments between events;
- ``crlf``: ``\\r\\n`` line ends; ``nospace``: ``data:`` without the space;
- ``split``: every byte in its own write; ``packed``: all events in one write;
- ``no-done``: ends at EOF without ``[DONE]``;
- ``error-event``: HTTP 200 then an ``{"error": ...}`` event mid-stream;
- ``drop``: sends two chunks then drops the connection (no chunked terminator);
- ``slow``: waits ``FakeUpstream.slow_seconds`` before headers;
- ``stall``: sends one chunk then stalls (for read timeouts and disconnects);
  a closed connection during ``slow`` or a stream is recorded in ``disconnects``;
- ``status-NNN``: answers HTTP NNN with an OpenAI error body; ``plain-NNN``: with a text body;
- ``garbage``: 200 with ``text/event-stream`` but lines that are not JSON;
- ``empty``: 200 with ``text/event-stream`` and no body at all;
- ``ignores-stream``: answers a whole JSON completion even to ``stream: true``;
- ``bash-echo``: an agent turn: a ``Bash`` tool call (``echo tool-ran-42``) until the
  conversation holds a tool result, then "Tool said: <that result>" (streamed only).

``POST /v1/embeddings`` answers one 3-dimensional vector per input (``[index, length, 0.5]``,
or base64 floats with ``encoding_format: base64``), with usage; model ``status-NNN`` fails as above;
``flaky-N`` answers 503 to the first N embeddings requests with that model; ``slow``
waits ``slow_seconds`` first.

Like DashScope, a non-streaming request with ``enable_thinking: true`` gets a 400.

``/models`` answers the OpenAI list shape, or a bare array when ``models_shape``
is ``"bare"``, an HTML page with status 200 when it is ``"html"``, or 404 when
``models_shape`` is ``None``.

Pass ``ssl_context`` to serve HTTPS (for TLS verification tests).
"""
from __future__ import annotations

import asyncio
import base64
import json
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import AppFake, Seen, seen

CREATED = 1_700_000_000


def chunk(model: str, delta: dict[str, Any], finish: str | None = None, cid: str = "chatcmpl-fake") -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def usage_chunk(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }


BASH_CALL = {"index": 0, "id": "call_bash1", "type": "function",
             "function": {"name": "Bash", "arguments": json.dumps({"command": "echo tool-ran-42",
                                                                    "description": "Print a marker"})}}


def tool_result(body: dict[str, Any] | None) -> str | None:
    """The content of the last ``tool`` message of a request, if any."""
    for message in reversed((body or {}).get("messages") or []):
        if message.get("role") == "tool":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return None


def script_for(model: str, include_usage: bool, body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The chunks a streamed answer for ``model`` consists of."""
    base = model.split(":")[0]
    if base == "bash-echo" and tool_result(body) is None:
        events = [chunk(model, {"role": "assistant", "content": None, "tool_calls": [BASH_CALL]}),
                  chunk(model, {}, "tool_calls")]
    elif base == "bash-echo":
        events = [chunk(model, {"role": "assistant", "content": ""}),
                  chunk(model, {"content": f"Tool said: {tool_result(body).strip()}"}), chunk(model, {}, "stop")]
    elif base == "tools":
        events = [
            chunk(model, {"role": "assistant", "content": None, "tool_calls": [
                {"index": 0, "id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
            ]}),
            chunk(model, {"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\": "}}]}),
            chunk(model, {"tool_calls": [{"index": 0, "function": {"arguments": "\"Hanoi\"}"}}]}),
            chunk(model, {}, "tool_calls"),
        ]
    elif base == "groq":
        events = [
            {**chunk(model, {"role": "assistant", "content": ""}), "x_groq": {"id": "req_01"}},
            chunk(model, {"role": "assistant", "content": "Hello"}),
            chunk(model, {"role": "assistant", "content": " there"}),
            chunk(model, {"role": "assistant"}, "stop"),
            {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": CREATED, "model": model,
             "choices": None, "x_groq": {"id": "req_01", "usage": {"prompt_tokens": 5, "completion_tokens": 2}}},
        ]
    elif base in ("reasoning", "reasoning-or"):
        field_name = "reasoning_content" if base == "reasoning" else "reasoning"
        events = [
            chunk(model, {"role": "assistant", "content": "", field_name: "Let me think"}),
            chunk(model, {field_name: " carefully."}),
            chunk(model, {"content": "42"}),
            chunk(model, {}, "stop"),
        ]
    else:
        events = [
            chunk(model, {"role": "assistant", "content": ""}),
            chunk(model, {"content": "Hello"}),
            chunk(model, {"content": " from"}),
            chunk(model, {"content": " fake"}),
            chunk(model, {}, "stop"),
        ]
    if include_usage:
        events.append(usage_chunk(model))
    return events


def completion_for(model: str) -> dict[str, Any]:
    base = model.split(":")[0]
    message: dict[str, Any] = {"role": "assistant", "content": "Hello from fake", "refusal": None}
    finish = "stop"
    if base == "tools":
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Hanoi\"}"}}
        ]}
        finish = "tool_calls"
    elif base in ("reasoning", "reasoning-or"):
        field_name = "reasoning_content" if base == "reasoning" else "reasoning"
        message = {"role": "assistant", "content": "42", field_name: "Let me think carefully."}
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }


@dataclass
class FakeUpstream(AppFake):
    host: str = "127.0.0.1"
    port: int = 0
    models_shape: str | None = "list"  # "list", "bare", or None for 404
    model_ids: list[str] = field(default_factory=lambda: ["text", "tools", "meta-llama/Llama-3-8B"])
    slow_seconds: float = 2.0
    ssl_context: Any = None
    requests: list[Seen] = field(default_factory=list)
    disconnects: list[float] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.port}/v1"

    # -- handlers ---------------------------------------------------------------

    async def models(self, request: web.Request) -> web.StreamResponse:
        self._record(request, None)
        if self.models_shape is None:
            return web.json_response({"error": {"message": "Not Found"}}, status=404)
        entries = [{"id": m, "object": "model", "created": CREATED, "owned_by": "fake"} for m in self.model_ids]
        if self.models_shape == "html":
            return web.Response(text="<html><body>Welcome</body></html>", content_type="text/html")
        if self.models_shape == "bare":
            return web.json_response([{"id": m} for m in self.model_ids])
        return web.json_response({"object": "list", "data": entries})

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self._record(request, body)
        model = body.get("model", "")
        base = model.split(":")[0]
        if base.startswith("status-"):
            status = int(base.split("-")[1])
            headers = {"Retry-After": "7"} if status == 429 else {}
            return web.json_response(
                {"error": {"message": f"fake says {status}", "type": "fake_error", "param": None, "code": f"fake_{status}"}},
                status=status,
                headers=headers,
            )
        if base.startswith("plain-"):
            status = int(base.split("-")[1])
            return web.Response(text=f"plain failure {status}", status=status)
        if base == "slow":
            try:
                await asyncio.sleep(self.slow_seconds)
            except asyncio.CancelledError:  # the gateway closed the connection
                self.disconnects.append(time.monotonic())
                raise
        if not body.get("stream") and body.get("enable_thinking") is True:
            # As DashScope answers a non-streaming call with thinking on.
            return web.json_response({"error": {
                "message": "<400> InternalError.Algo.InvalidParameter: The value of the enable_thinking parameter "
                           "is restricted to True only in streaming calls. enable_thinking must be set to false "
                           "for non-streaming calls",
                "type": "invalid_request_error", "param": None, "code": "invalid_parameter_error"}}, status=400)
        if not body.get("stream") or base == "ignores-stream":
            return web.json_response(completion_for(model))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return await self._stream(request, model, base, include_usage, body)

    async def _stream(self, request: web.Request, model: str, base: str, include_usage: bool,
                      body: dict[str, Any] | None = None) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        sep = b"\r\n" if base == "crlf" else b"\n"
        prefix = b"data:" if base == "nospace" else b"data: "
        frames = [prefix + json.dumps(c).encode() + sep + sep for c in script_for(model, include_usage, body)]
        done = prefix + b"[DONE]" + sep + sep
        try:
            if base == "empty":
                await resp.write_eof()
                return resp
            if base == "garbage":
                await resp.write(b"this is not SSE at all\n\nneither is this\n\n")
                return resp
            if base == "error-event":
                await resp.write(frames[0])
                await resp.write(b'data: {"error": {"message": "model overloaded", "type": "server_error", "code": "overloaded"}}\n\n')
                return resp
            if base == "drop":
                await resp.write(frames[0] + frames[1])
                await asyncio.sleep(0.05)
                assert request.transport is not None
                request.transport.close()
                return resp
            if base == "stall":
                await resp.write(frames[0])
                await asyncio.sleep(3600)
            if base == "packed":
                await resp.write(b"".join(frames) + done)
                return resp
            for frame in frames:
                if base == "comments":
                    await resp.write(b": OPENROUTER PROCESSING\n\n")
                if base == "split":
                    for i in range(len(frame)):
                        await resp.write(frame[i:i + 1])
                else:
                    await resp.write(frame)
                await asyncio.sleep(0.005)
            if base != "no-done":
                await resp.write(done)
            await resp.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            self.disconnects.append(time.monotonic())
            raise
        return resp

    async def embeddings(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self._record(request, body)
        model = str(body.get("model", ""))
        if model.startswith("status-"):
            status = int(model.split("-")[1])
            return web.json_response({"error": {"message": f"fake says {status}", "type": "fake_error", "param": None,
                                                 "code": f"fake_{status}"}}, status=status)
        if model.startswith("flaky-") and sum(
                1 for r in self.requests if r.path == "/v1/embeddings" and r.body.get("model") == model
        ) <= int(model.split("-")[1]):
            return web.json_response({"error": {"message": "fake is busy", "type": "server_error", "param": None,
                                                "code": "fake_503"}}, status=503)
        if model == "slow":
            await asyncio.sleep(self.slow_seconds)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = []
        for i, text in enumerate(inputs):
            vector = [float(i), float(len(text)), 0.5]
            if body.get("encoding_format") == "base64":
                vector = base64.b64encode(struct.pack("<3f", *vector)).decode()  # type: ignore[assignment]
            data.append({"object": "embedding", "index": i, "embedding": vector})
        tokens = sum(len(str(t).split()) for t in inputs)
        return web.json_response({"object": "list", "data": data, "model": model,
                                  "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    def _record(self, request: web.Request, body: Any) -> None:
        self.requests.append(seen(request, body))

    # -- lifecycle ----------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/models", self.models)
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/v1/embeddings", self.embeddings)
        return app

    def last(self) -> Seen:
        return self.requests[-1]


def sse_data(body: str) -> list[str]:
    """The ``data:`` payloads of an SSE body as the gateway frames it (``data: X\\n\\n``),
    asserting that every event is framed exactly that way."""
    assert body.endswith("\n\n"), body[-200:]
    out = []
    for frame in body[:-2].split("\n\n"):
        assert frame.startswith("data: ") and "\n" not in frame, frame
        out.append(frame[len("data: "):])
    return out
