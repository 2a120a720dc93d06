"""OpenAI chat completion chunks (``data: {...}`` SSE frames from an adapter)
turned into Responses API stream events, one frame at a time: ``response.created``,
``response.in_progress``, per output item ``response.output_item.added`` ... its
deltas (``response.output_text.delta``, ``response.function_call_arguments.delta``,
``response.reasoning_summary_text.delta``) ... ``response.output_item.done``, then
``response.completed`` with usage. An error frame ends it with ``response.failed``.
Pure: no I/O.
"""
from __future__ import annotations

import time
from typing import Any

from .chunk_machine import ChunkMachine, dumps
from .responses_translate import call_item, message_item, new_id, reasoning_item, response_object, response_usage

Event = dict[str, Any]


def encode(events: list[Event]) -> bytes:
    return b"".join([b"event: %s\ndata: %s\n\n" % (e["type"].encode(), dumps(e)) for e in events])


class ResponsesStream(ChunkMachine):
    """Feed adapter bytes with ``feed``; call ``close`` when the adapter ends."""

    def __init__(self, request: dict[str, Any], model: str) -> None:
        super().__init__()
        self.request = request
        self.model = model
        self.id = new_id("resp")
        self.created_at = int(time.time())
        self.seq = 0
        self.started = False
        self.output: list[dict[str, Any]] = []  # finished items
        self.item: dict[str, Any] | None = None  # the open one
        self.parts: list[str] = []  # the open item's text, in pieces (joined once, when it closes)
        self.calls: dict[int, int] = {}  # chat tool call index -> output index

    def _failed(self, error: dict[str, Any]) -> list[Event]:
        out = self._start()
        self.done = True
        failure = {"code": str(error.get("code") or error.get("type") or "server_error"),
                   "message": str(error.get("message") or "The upstream reported an error.")}
        out.append(self._e("response.failed", response=self._response("failed", error=failure)))
        return out

    # -- internals ---------------------------------------------------------------

    def _e(self, kind: str, **fields: Any) -> Event:
        self.seq += 1
        return {"type": kind, "sequence_number": self.seq - 1, **fields}

    def _response(self, status: str, *, error: dict[str, Any] | None = None,
                  usage: dict[str, Any] | None = None) -> dict[str, Any]:
        return response_object(self.request, self.model, status=status, output=list(self.output), usage=usage,
                               response_id=self.id, created_at=self.created_at, finish=self.finish, error=error)

    def _start(self) -> list[Event]:
        if self.started:
            return []
        self.started = True
        return [self._e("response.created", response=self._response("in_progress")),
                self._e("response.in_progress", response=self._response("in_progress"))]

    def _index(self) -> int:
        return len(self.output)

    def _close_item(self) -> list[Event]:
        item = self.item
        if item is None:
            return []
        self.item = None
        text = "".join(self.parts)
        self.parts = []
        where = {"item_id": item["id"], "output_index": self._index()}
        out: list[Event] = []
        if item["type"] == "message":
            part = {"type": "output_text", "text": text, "annotations": []}
            out += [self._e("response.output_text.done", **where, content_index=0, text=text),
                    self._e("response.content_part.done", **where, content_index=0, part=part)]
            done = message_item(text, item["id"])
        elif item["type"] == "reasoning":
            part = {"type": "summary_text", "text": text}
            out += [self._e("response.reasoning_summary_text.done", **where, summary_index=0, text=text),
                    self._e("response.reasoning_summary_part.done", **where, summary_index=0, part=part)]
            done = reasoning_item(text, item["id"])
        else:
            out.append(self._e("response.function_call_arguments.done", **where, arguments=text))
            done = call_item(item["call_id"], item["name"], text, item["id"])
        out.append(self._e("response.output_item.done", output_index=self._index(), item=done))
        self.output.append(done)
        return out

    def _open_item(self, item: dict[str, Any]) -> list[Event]:
        out = self._close_item()
        self.item = item
        where = {"item_id": item["id"], "output_index": self._index()}
        out.append(self._e("response.output_item.added", output_index=self._index(), item=item))
        if item["type"] == "message":
            part = {"type": "output_text", "text": "", "annotations": []}
            out.append(self._e("response.content_part.added", **where, content_index=0, part=part))
        elif item["type"] == "reasoning":
            part = {"type": "summary_text", "text": ""}
            out.append(self._e("response.reasoning_summary_part.added", **where, summary_index=0, part=part))
        return out

    def _delta(self, kind: str, delta: str, **extra: Any) -> Event:
        assert self.item is not None
        self.parts.append(delta)
        return self._e(kind, item_id=self.item["id"], output_index=self._index(), delta=delta, **extra)

    def _choice(self, delta: dict[str, Any]) -> list[Event]:
        out: list[Event] = []
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if reasoning:
            if not self.item or self.item["type"] != "reasoning":
                out += self._open_item(reasoning_item("", status="in_progress"))
            out.append(self._delta("response.reasoning_summary_text.delta", reasoning, summary_index=0))
        if delta.get("content"):
            if not self.item or self.item["type"] != "message":
                out += self._open_item(message_item(None, status="in_progress"))
            out.append(self._delta("response.output_text.delta", delta["content"], content_index=0))
        for call in delta.get("tool_calls") or []:
            position = int(call.get("index") or 0)
            function = call.get("function") or {}
            if position not in self.calls:
                out += self._open_item(call_item(call.get("id") or new_id("call"), function.get("name") or "", "",
                                                 status="in_progress"))
                self.calls[position] = self._index()
            if function.get("arguments") and self.calls[position] == self._index():
                out.append(self._delta("response.function_call_arguments.delta", function["arguments"]))
        return out

    def _finish(self) -> list[Event]:
        out = self._start()
        out += self._close_item()
        self.done = True
        response = self._response("completed", usage=response_usage(self.usage))
        kind = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
        out.append(self._e(kind, response=response))
        return out
