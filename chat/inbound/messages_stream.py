"""OpenAI chat completion chunks (as adapters emit them: ``data: {...}`` SSE
frames) turned into Anthropic Messages stream events, one frame at a time.

The event order is the one the Messages API itself uses (compare
``tests/fakes/anthropic_upstream.stream_events``): ``message_start``, ``ping``,
per block ``content_block_start``/``content_block_delta``.../``content_block_stop``,
then ``message_delta`` (``stop_reason``, usage) and ``message_stop``. Reasoning
deltas become a ``thinking`` block, tool call fragments a ``tool_use`` block
with ``input_json_delta``s. An error event from the adapter ends the stream with
an ``error`` event. Pure: no I/O.
"""
from __future__ import annotations

import uuid
from typing import Any

from .chunk_machine import ChunkMachine, dumps
from .messages_translate import message_usage, new_message_id, stop_reason

Event = tuple[str, dict[str, Any]]


def encode(events: list[Event]) -> bytes:
    return b"".join([b"event: %s\ndata: %s\n\n" % (name.encode(), dumps(data)) for name, data in events])


def error_event(etype: str, message: str) -> Event:
    return "error", {"type": "error", "error": {"type": etype, "message": message}}


class MessagesStream(ChunkMachine):
    """Feed adapter bytes with ``feed``; call ``close`` when the adapter ends."""

    def __init__(self, model: str, *, error_type: Any = None) -> None:
        super().__init__()
        self.model = model
        self.started = False
        self.index = -1
        self.block: str | None = None  # "text", "thinking" or "tool_use"
        self.tool_blocks: dict[int, int] = {}  # OpenAI tool call index -> our block index
        # the adapter's error type -> Anthropic's, for error events mid-stream
        self.error_type = error_type or (lambda etype: "api_error")

    def fail(self, etype: str, message: str) -> list[Event]:
        self.done = True
        return [*self._start(), error_event(etype, message)]

    def _failed(self, error: dict[str, Any]) -> list[Event]:
        message = str(error.get("message") or "The upstream reported an error.")
        return self.fail(self.error_type(error.get("type")), message)

    # -- internals ---------------------------------------------------------------

    def _start(self) -> list[Event]:
        if self.started:
            return []
        self.started = True
        message: dict[str, Any] = {"id": new_message_id(), "type": "message", "role": "assistant", "model": self.model,
                   "content": [], "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": 0, "output_tokens": 0}}
        return [("message_start", {"type": "message_start", "message": message})]

    def _close_block(self) -> list[Event]:
        if self.block is None:
            return []
        self.block = None
        return [("content_block_stop", {"type": "content_block_stop", "index": self.index})]

    def _open_block(self, kind: str, content_block: dict[str, Any]) -> list[Event]:
        out = self._close_block()
        self.index += 1
        self.block = kind
        out.append(("content_block_start", {"type": "content_block_start", "index": self.index,
                                            "content_block": content_block}))
        if self.index == 0:  # where the Messages API sends its first keep-alive
            out.append(("ping", {"type": "ping"}))
        return out

    def _delta(self, delta: dict[str, Any]) -> Event:
        return "content_block_delta", {"type": "content_block_delta", "index": self.index, "delta": delta}

    def _choice(self, delta: dict[str, Any]) -> list[Event]:
        out: list[Event] = []
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if reasoning:
            if self.block != "thinking":
                out.extend(self._open_block("thinking", {"type": "thinking", "thinking": "", "signature": ""}))
            out.append(self._delta({"type": "thinking_delta", "thinking": reasoning}))
        if delta.get("content"):
            if self.block != "text":
                out.extend(self._open_block("text", {"type": "text", "text": ""}))
            out.append(self._delta({"type": "text_delta", "text": delta["content"]}))
        for call in delta.get("tool_calls") or []:
            out.extend(self._tool_call(call))
        return out

    def _tool_call(self, call: dict[str, Any]) -> list[Event]:
        out: list[Event] = []
        position = int(call.get("index") or 0)
        function = call.get("function") or {}
        if position not in self.tool_blocks:
            out.extend(self._open_block("tool_use", {
                "type": "tool_use", "id": call.get("id") or "toolu_" + uuid.uuid4().hex[:24],
                "name": function.get("name") or "", "input": {}}))
            self.tool_blocks[position] = self.index
        elif self.tool_blocks[position] != self.index:
            return []  # interleaved fragments of an earlier call cannot be reopened
        if function.get("arguments"):
            out.append(self._delta({"type": "input_json_delta", "partial_json": function["arguments"]}))
        return out

    def _finish(self) -> list[Event]:
        out = self._start()
        out.extend(self._close_block())
        self.done = True
        usage = message_usage(self.usage)
        out.append(("message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": stop_reason(self.finish), "stop_sequence": None},
                                      "usage": {"output_tokens": usage["output_tokens"],
                                                "input_tokens": usage["input_tokens"],
                                                "cache_read_input_tokens": usage["cache_read_input_tokens"]}}))
        out.append(("message_stop", {"type": "message_stop"}))
        return out
