"""Pure translation between OpenAI chat completions and the OpenAI Responses API.

``to_responses_request`` turns a chat request into a Responses request body;
``ResponsesStream`` turns Responses stream events into chat.completion.chunk
dicts, raising ``UpstreamError`` for failures (``response.failed``, ``error``,
an ``incomplete`` answer for another reason than the token limit, a stream that
ends before ``response.completed``). No I/O here, so it is tested without a network.
"""
from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _

from .base import UpstreamError
from .chat_chunks import ChunkMaker
from .content import content_text

# --- request ---------------------------------------------------------------------


def _input_parts(content: Any, *, assistant: bool) -> list[dict[str, Any]]:
    text_type = "output_text" if assistant else "input_text"
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": text_type, "text": content}]
    parts: list[dict[str, Any]] = []
    for part in content if isinstance(content, list) else [content]:
        if isinstance(part, str):
            parts.append({"type": text_type, "text": part})
            continue
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("text", "input_text", "output_text"):
            parts.append({"type": text_type, "text": part.get("text") or ""})
        elif kind == "refusal" and assistant:
            parts.append({"type": "refusal", "refusal": part.get("refusal") or ""})
        elif kind in ("image_url", "input_image") and not assistant:
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            item: dict[str, Any] = {"type": "input_image", "image_url": url}
            detail = image.get("detail") if isinstance(image, dict) else part.get("detail")
            item["detail"] = detail or "auto"
            parts.append(item)
        elif kind == "file" and not assistant:
            file = part.get("file") or {}
            item = {"type": "input_file"}
            for src, dst in (("file_data", "file_data"), ("file_id", "file_id"), ("filename", "filename")):
                if file.get(src):
                    item[dst] = file[src]
            parts.append(item)
    return parts


def to_input_items(messages: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    """(instructions, input items) for a chat ``messages`` list."""
    instructions: list[str] = []
    items: list[dict[str, Any]] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            text = content_text(content, sep="")
            if text:
                instructions.append(text)
        elif role == "user":
            items.append({"type": "message", "role": "user", "content": _input_parts(content, assistant=False)})
        elif role == "assistant":
            parts = _input_parts(content, assistant=True)
            if parts:
                items.append({"type": "message", "role": "assistant", "content": parts})
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                items.append(
                    {
                        "type": "function_call",
                        "call_id": call.get("id") or "",
                        "name": function.get("name") or "",
                        "arguments": function.get("arguments") or "",
                    }
                )
        elif role in ("tool", "function"):
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": message.get("tool_call_id") or message.get("name") or "",
                    "output": content_text(content, sep=""),
                }
            )
    return "\n\n".join(instructions), items


def to_responses_tools(tools: list[Any]) -> list[dict[str, Any]]:
    """Chat tools (``{"type": "function", "function": {...}}``) become flat Responses
    function tools; tools already in another shape pass through."""
    out = []
    for tool in tools:
        if isinstance(tool, dict) and tool.get("type") == "function" and isinstance(tool.get("function"), dict):
            function = tool["function"]
            flat: dict[str, Any] = {"type": "function", "name": function.get("name")}
            for key in ("description", "parameters", "strict"):
                if key in function:
                    flat[key] = function[key]
            out.append(flat)
        else:
            out.append(tool)
    return out


def to_tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("function"), dict):
        return {"type": "function", "name": choice["function"].get("name")}
    return choice


def to_text_format(response_format: Any) -> dict[str, Any] | None:
    if not isinstance(response_format, dict):
        return None
    kind = response_format.get("type")
    if kind == "json_schema":
        schema = response_format.get("json_schema") or {}
        fmt: dict[str, Any] = {"type": "json_schema", "name": schema.get("name") or "response"}
        for key in ("schema", "strict", "description"):
            if key in schema:
                fmt[key] = schema[key]
        return {"format": fmt}
    if kind in ("json_object", "text"):
        return {"format": {"type": kind}}
    return None


def to_responses_request(body: dict[str, Any]) -> dict[str, Any]:
    """The Responses API body for a chat request. Always ``stream: true`` and
    ``store: false``: the ChatGPT backend only streams and keeps nothing."""
    instructions, items = to_input_items(body.get("messages") or [])
    out: dict[str, Any] = {
        "model": body.get("model"),
        "instructions": instructions,
        "input": items,
        "store": False,
        "stream": True,
    }
    if body.get("tools"):
        out["tools"] = to_responses_tools(body["tools"])
        if "tool_choice" in body:
            out["tool_choice"] = to_tool_choice(body["tool_choice"])
        if "parallel_tool_calls" in body:
            out["parallel_tool_calls"] = body["parallel_tool_calls"]
    for key in ("temperature", "top_p", "metadata", "service_tier", "user"):
        if body.get(key) is not None:
            out[key] = body[key]
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit:
        out["max_output_tokens"] = limit
    if isinstance(body.get("reasoning"), dict):
        out["reasoning"] = body["reasoning"]
    elif body.get("reasoning_effort"):
        out["reasoning"] = {"effort": body["reasoning_effort"], "summary": "auto"}
    text = to_text_format(body.get("response_format"))
    if text:
        out["text"] = text
    return out


# --- stream ----------------------------------------------------------------------

_ERROR_STATUS = {
    "rate_limit_exceeded": (429, "rate_limit_error"),
    "usage_limit_reached": (429, "rate_limit_error"),
    "insufficient_quota": (429, "insufficient_quota"),
    "invalid_prompt": (400, "invalid_request_error"),
    "context_length_exceeded": (400, "invalid_request_error"),
    "invalid_request_error": (400, "invalid_request_error"),
}


def error_from(err: Any, *, cause: str) -> UpstreamError:
    """An ``UpstreamError`` for a Responses error object (``{code, message, param}``)."""
    if not isinstance(err, dict):
        err = {}
    inner = err.get("error")
    if isinstance(inner, dict):
        err = inner
    code = err.get("code") if isinstance(err.get("code"), str) else None
    etype = err.get("type") if isinstance(err.get("type"), str) and err.get("type") != "error" else None
    status, mapped_type = _ERROR_STATUS.get(code or etype or "", (502, "upstream_error"))
    message = err.get("message") if isinstance(err.get("message"), str) else None
    return UpstreamError(
        message or _("The upstream reported an error."),
        status=status,
        type=mapped_type if status != 502 else (etype or "upstream_error"),
        code=code,
        param=err.get("param") if isinstance(err.get("param"), str) else None,
        cause=cause,
    )


def to_chat_usage(usage: Any) -> dict[str, Any] | None:
    if not isinstance(usage, dict):
        return None
    prompt = int(usage.get("input_tokens") or 0)
    completion = int(usage.get("output_tokens") or 0)
    out: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": int(usage.get("total_tokens") or prompt + completion),
    }
    details = usage.get("input_tokens_details")
    if isinstance(details, dict) and "cached_tokens" in details:
        out["prompt_tokens_details"] = {"cached_tokens": details["cached_tokens"]}
    details = usage.get("output_tokens_details")
    if isinstance(details, dict) and "reasoning_tokens" in details:
        out["completion_tokens_details"] = {"reasoning_tokens": details["reasoning_tokens"]}
    return out


class ResponsesStream:
    """State of one Responses stream being turned into chat.completion.chunk dicts.

    ``feed`` takes one event (its JSON) and returns the chunks it produces. The
    assistant role goes out with the first chunk that carries something, in the
    shape OpenAI uses: ``content: ""`` before text, ``content: null`` before a
    tool call.
    """

    def __init__(self, model: str, *, include_usage: bool = False) -> None:
        self.chunks = ChunkMaker(model)
        self.include_usage = include_usage
        self.done = False
        self._role_sent = False
        self._tools: dict[str, int] = {}  # item id / output index -> tool call index
        self._args_seen: set[int] = set()
        self._text_items: set[str] = set()

    # -- helpers ---------------------------------------------------------------

    def _emit(self, delta: dict[str, Any]) -> dict[str, Any]:
        if not self._role_sent:
            self._role_sent = True
            head: dict[str, Any] = {"role": "assistant"}
            if "content" not in delta:
                head["content"] = None if "tool_calls" in delta else ""
            delta = {**head, **delta}
        return self.chunks.chunk(delta)

    def _tool_index(self, event: dict[str, Any]) -> int | None:
        for key in (event.get("item_id"), event.get("output_index")):
            if key is not None and str(key) in self._tools:
                return self._tools[str(key)]
        return None

    def _adopt_response(self, response: Any) -> None:
        if not isinstance(response, dict):
            return
        if isinstance(response.get("created_at"), (int, float)):
            self.chunks.created = int(response["created_at"])
        if isinstance(response.get("model"), str) and response["model"]:
            self.chunks.model = response["model"]

    def _finish(self, reason: str, response: Any) -> list[dict[str, Any]]:
        out = []
        if not self._role_sent:
            out.append(self._emit({}))
        out.append(self.chunks.chunk({}, reason))
        usage = to_chat_usage(response.get("usage") if isinstance(response, dict) else None)
        if self.include_usage and usage is not None:
            out.append(self.chunks.usage_chunk(usage))
        self.done = True
        return out

    # -- events ----------------------------------------------------------------

    def feed(self, event: dict[str, Any], name: str | None = None) -> list[dict[str, Any]]:
        kind = event.get("type") or name or ""
        if kind == "response.created" or kind == "response.in_progress":
            self._adopt_response(event.get("response"))
            return []
        if kind == "response.output_item.added":
            item = event.get("item") or {}
            if item.get("type") == "function_call":
                index = len(set(self._tools.values()))
                for key in (item.get("id"), event.get("output_index")):
                    if key is not None:
                        self._tools[str(key)] = index
                arguments = item.get("arguments") or ""
                if arguments:
                    self._args_seen.add(index)
                call = {
                    "index": index,
                    "id": item.get("call_id") or item.get("id") or f"call_{index}",
                    "type": "function",
                    "function": {"name": item.get("name") or "", "arguments": arguments},
                }
                return [self._emit({"tool_calls": [call]})]
            if item.get("type") == "message" and not self._role_sent:
                return [self._emit({"content": ""})]
            return []
        if kind == "response.output_text.delta":
            delta = event.get("delta") or ""
            if event.get("item_id"):
                self._text_items.add(event["item_id"])
            return [self._emit({"content": delta})] if delta else []
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            delta = event.get("delta") or ""
            return [self._emit({"reasoning_content": delta})] if delta else []
        if kind == "response.reasoning_summary_part.added":
            if (event.get("summary_index") or 0) > 0:
                return [self._emit({"reasoning_content": "\n\n"})]
            return []
        if kind == "response.refusal.delta":
            delta = event.get("delta") or ""
            return [self._emit({"refusal": delta})] if delta else []
        if kind == "response.function_call_arguments.delta":
            found = self._tool_index(event)
            delta = event.get("delta") or ""
            if found is None or not delta:
                return []
            self._args_seen.add(found)
            return [self._emit({"tool_calls": [{"index": found, "function": {"arguments": delta}}]})]
        if kind == "response.output_item.done":
            return self._item_done(event)
        if kind == "response.completed":
            response = event.get("response") or {}
            self._adopt_response(response)
            return self._finish("tool_calls" if self._tools else "stop", response)
        if kind == "response.incomplete":
            response = event.get("response") or {}
            details = response.get("incomplete_details") or {}
            reason = details.get("reason") if isinstance(details, dict) else None
            if reason == "max_output_tokens":
                return self._finish("length", response)
            if reason == "content_filter":
                return self._finish("content_filter", response)
            raise UpstreamError(
                _("The upstream ended the response incomplete (%(reason)s).") % {"reason": reason or "unknown"},
                status=502,
                code="upstream_incomplete",
                cause=f"response.incomplete: {reason}",
            )
        if kind == "response.failed":
            response = event.get("response") or {}
            raise error_from(response.get("error"), cause="response.failed")
        if kind == "error":
            raise error_from(event, cause="error event in stream")
        return []  # content_part.*, *.done, rate_limits and other bookkeeping

    def _item_done(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Backends that send a whole item without deltas: emit what was not streamed."""
        item = event.get("item") or {}
        if item.get("type") == "function_call":
            index = self._tool_index({"item_id": item.get("id"), "output_index": event.get("output_index")})
            if index is None:
                added = self.feed({"type": "response.output_item.added", "item": item,
                                   "output_index": event.get("output_index")})
                return added
            if index not in self._args_seen and item.get("arguments"):
                self._args_seen.add(index)
                return [self._emit({"tool_calls": [{"index": index, "function": {"arguments": item["arguments"]}}]})]
        elif item.get("type") == "message" and item.get("id") not in self._text_items:
            text = "".join(
                part.get("text") or "" for part in item.get("content") or () if isinstance(part, dict)
                and part.get("type") == "output_text"
            )
            if item.get("id"):
                self._text_items.add(item["id"])
            if text:
                return [self._emit({"content": text})]
        return []

    def end_of_stream(self) -> None:
        """The upstream closed the stream: fine after ``response.completed``, an error before."""
        if not self.done:
            raise UpstreamError(
                _("The upstream closed the stream before the response was complete."),
                status=502,
                code="upstream_incomplete_stream",
                cause="stream closed before response.completed",
            )


def parse_event_data(data: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise UpstreamError(
            _("The upstream sent a malformed stream event."),
            status=502,
            code="upstream_invalid_response",
            cause="malformed stream event",
        )
    return parsed
