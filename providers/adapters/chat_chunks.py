"""Building OpenAI chat-completion chunks, and folding them back into one answer.

Adapters whose backend is not OpenAI-shaped (the Responses API, ACP agents)
translate their events into ``chat.completion.chunk`` dicts with a ``ChunkMaker``;
a non-streaming request is served by running the same stream and folding the
chunks into one ``chat.completion`` with a ``ChunkCollector``. Both are pure.
``sse_from_chunks`` and ``completion_from_chunks`` serve ``stream()`` and
``complete()`` from such a source of chunks.
"""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncGenerator
from typing import Any

from .base import DONE_FRAME, Frames

# One upstream read's worth of translated chunks, per item.
ChunkSource = AsyncGenerator[list[dict[str, Any]], None]


def new_completion_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex[:24]


def frame(chunk: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"


class ChunkMaker:
    """Chunks of one streamed answer, sharing id, created and model."""

    def __init__(self, model: str, *, completion_id: str | None = None, created: int | None = None) -> None:
        self.id = completion_id or new_completion_id()
        self.created = int(created if created is not None else time.time())
        self.model = model

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }

    def usage_chunk(self, usage: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": usage,
        }


def wants_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))


async def sse_from_chunks(source: ChunkSource) -> Frames:
    """``Adapter.stream()`` from a chunk source: its chunks as SSE frames, then
    ``DONE_FRAME``. The source is closed at once when the client goes away, so its
    upstream (connection or child process) stops then, not when it is collected."""
    try:
        async for chunks in source:
            yield b"".join(frame(c) for c in chunks)
    finally:
        await source.aclose()
    yield DONE_FRAME


async def completion_from_chunks(source: ChunkSource) -> bytes:
    """``Adapter.complete()`` from a chunk source: the chunks folded into one
    ``chat.completion`` (JSON bytes)."""
    collector = ChunkCollector()
    try:
        async for chunks in source:
            for chunk in chunks:
                collector.add(chunk)
    finally:
        await source.aclose()
    return json.dumps(collector.completion(), ensure_ascii=False).encode()


class ChunkCollector:
    """Folds chat.completion.chunk dicts into one chat.completion dict."""

    def __init__(self) -> None:
        self.id: str | None = None
        self.created: int | None = None
        self.model: str | None = None
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None

    def add(self, chunk: dict[str, Any]) -> None:
        self.id = self.id or chunk.get("id")
        self.created = self.created or chunk.get("created")
        self.model = self.model or chunk.get("model")
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            if delta.get("content"):
                self.content.append(delta["content"])
            if delta.get("reasoning_content"):
                self.reasoning.append(delta["reasoning_content"])
            if delta.get("refusal"):
                self.refusal.append(delta["refusal"])
            for call in delta.get("tool_calls") or ():
                slot = self.tool_calls.setdefault(
                    call.get("index", 0), {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
                )
                if call.get("id"):
                    slot["id"] = call["id"]
                function = call.get("function") or {}
                if function.get("name"):
                    slot["function"]["name"] = function["name"]
                if function.get("arguments"):
                    slot["function"]["arguments"] += function["arguments"]
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]

    def completion(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(self.content) if self.content or not self.tool_calls else None,
            "refusal": "".join(self.refusal) if self.refusal else None,
        }
        if self.reasoning:
            message["reasoning_content"] = "".join(self.reasoning)
        if self.tool_calls:
            message["tool_calls"] = [self.tool_calls[i] for i in sorted(self.tool_calls)]
        out: dict[str, Any] = {
            "id": self.id or new_completion_id(),
            "object": "chat.completion",
            "created": self.created or int(time.time()),
            "model": self.model or "",
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": self.finish_reason or "stop"}],
        }
        if self.usage is not None:
            out["usage"] = self.usage
        return out
