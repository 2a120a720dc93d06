"""Pure translation of the OpenAI Responses API (inbound, stateless) to and from
chat completions, the direction opposite to ``providers/adapters/responses_translate``.

- ``to_chat_request(body)``: a Responses request becomes a chat completions request.
- ``to_response(completion, request)``: a ``chat.completion`` becomes a ``response`` object.

No I/O here. ``ResponsesInputError`` carries a client mistake (answered with 400).
Stored state (``previous_response_id``, ``store: true``) is refused, never ignored.
"""
from __future__ import annotations

import json
import time
import uuid
from typing import Any

from django.utils.translation import gettext as _

ROLES = ("user", "assistant", "system", "developer")


class ResponsesInputError(ValueError):
    def __init__(self, message: str, param: str | None = None, code: str = "invalid_request") -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


# -- request -------------------------------------------------------------------------


def _parts(content: Any, param: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise ResponsesInputError(_("Message content must be a string or an array of content parts."), param)
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": str(part.get("text") or "")})
        elif kind == "input_image" and part.get("image_url"):
            parts.append({"type": "image_url", "image_url": {"url": part["image_url"],
                                                             "detail": part.get("detail") or "auto"}})
        else:
            raise ResponsesInputError(_("Unsupported content part type: %(type)s.") % {"type": kind},
                                      f"{param}.content[{j}]")
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _messages(items: Any) -> list[dict[str, Any]]:
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    if not isinstance(items, list):
        raise ResponsesInputError(_("“input” must be a string or an array of items."), "input")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        param = f"input[{i}]"
        kind = item.get("type", "message") if isinstance(item, dict) else None
        if kind == "message" and item.get("role") in ROLES:
            role = "system" if item["role"] == "developer" else item["role"]
            out.append({"role": role, "content": _parts(item.get("content"), param)})
        elif kind == "function_call":
            call = {"id": str(item.get("call_id") or ""), "type": "function",
                    "function": {"name": str(item.get("name") or ""), "arguments": str(item.get("arguments") or "")}}
            last = out[-1] if out else None
            if last and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)  # parallel calls belong to one assistant turn
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            out.append({"role": "tool", "tool_call_id": str(item.get("call_id") or ""),
                        "content": output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)})
        elif kind == "reasoning":
            continue  # earlier reasoning is not replayed to chat completions backends
        else:
            raise ResponsesInputError(_("Unsupported input item type: %(type)s.") % {"type": kind}, param)
    return out


def hosted_tools(body: dict[str, Any]) -> list[str]:
    """Types of the request's hosted tools (``web_search``, ``file_search``...): they
    run at OpenAI only, so a chat completions backend is not offered them. The
    view names them in the ``X-Gateway-Dropped-Tools`` header."""
    given = body.get("tools")
    tools = given if isinstance(given, list) else []
    own = ("function", "namespace", "custom")
    return [str(t.get("type")) for t in tools if isinstance(t, dict) and t.get("type") not in own]


def _function(tool: Any, param: str) -> dict[str, Any]:
    if not isinstance(tool, dict) or tool.get("type") != "function" or not tool.get("name"):
        kind = tool.get("type") if isinstance(tool, dict) else None
        raise ResponsesInputError(
            _("Only function tools can be used with this provider (got “%(type)s”).") % {"type": kind}, param)
    function = {k: tool[k] for k in ("name", "description", "parameters", "strict") if tool.get(k) is not None}
    return {"type": "function", "function": function}


def _tools(tools: Any) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise ResponsesInputError(_("“tools” must be an array."), "tools")
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind == "namespace":  # a group of function tools (Codex CLI): offered one by one
            out.extend(_function(inner, f"tools[{i}].tools[{j}]") for j, inner in enumerate(tool.get("tools") or []))
        elif kind == "function" or kind == "custom" or not isinstance(tool, dict):
            out.append(_function(tool, f"tools[{i}]"))
    return out


def _response_format(text: Any) -> dict[str, Any] | None:
    fmt = text.get("format") if isinstance(text, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") in (None, "text"):
        return None
    if fmt["type"] == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        return {"type": "json_schema", "json_schema": schema}
    return {"type": "json_object"}


def refuse_stored_state(body: dict[str, Any]) -> None:
    """Stored responses are not kept by this gateway: say so instead of ignoring the ask."""
    if body.get("previous_response_id"):
        raise ResponsesInputError(
            _("This gateway does not store responses, so “previous_response_id” cannot be used. "
              "Send the whole conversation in “input”."), "previous_response_id", "stored_state_unsupported")
    if body.get("store") is True:
        raise ResponsesInputError(
            _("This gateway does not store responses: send “store”: false (or leave it out)."),
            "store", "stored_state_unsupported")


def to_chat_request(body: dict[str, Any]) -> dict[str, Any]:
    refuse_stored_state(body)
    if "input" not in body:
        raise ResponsesInputError(_("“input” is required."), "input")
    messages = _messages(body["input"])
    if body.get("instructions"):
        messages.insert(0, {"role": "system", "content": str(body["instructions"])})
    out: dict[str, Any] = {"model": body.get("model"), "messages": messages}
    if body.get("tools"):
        out["tools"] = _tools(body["tools"])
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    elif choice is not None:
        out["tool_choice"] = choice
    if body.get("max_output_tokens") is not None:
        out["max_tokens"] = body["max_output_tokens"]
    for name in ("temperature", "top_p", "parallel_tool_calls", "user"):
        if body.get(name) is not None:
            out[name] = body[name]
    effort = (body.get("reasoning") or {}).get("effort") if isinstance(body.get("reasoning"), dict) else None
    if effort:
        out["reasoning_effort"] = effort
    response_format = _response_format(body.get("text"))
    if response_format:
        out["response_format"] = response_format
    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


# -- answer ----------------------------------------------------------------------------


def response_usage(usage: dict[str, Any] | None) -> dict[str, Any]:
    usage = usage or {}
    prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    reasoning = int((usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0)
    return {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": cached}, "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": reasoning}, "total_tokens": prompt + completion}


def reasoning_item(text: str, item_id: str | None = None, status: str = "completed") -> dict[str, Any]:
    summary = [{"type": "summary_text", "text": text}] if text else []
    return {"type": "reasoning", "id": item_id or new_id("rs"), "summary": summary, "status": status}


def message_item(text: str | None, item_id: str | None = None, status: str = "completed") -> dict[str, Any]:
    content = [] if text is None else [{"type": "output_text", "text": text, "annotations": []}]
    return {"type": "message", "id": item_id or new_id("msg"), "status": status, "role": "assistant",
            "content": content}


def call_item(call_id: str, name: str, arguments: str, item_id: str | None = None,
              status: str = "completed") -> dict[str, Any]:
    return {"type": "function_call", "id": item_id or new_id("fc"), "call_id": call_id, "name": name,
            "arguments": arguments, "status": status}


def response_object(request: dict[str, Any], model: str, *, status: str, output: list[dict[str, Any]],
                    usage: dict[str, Any] | None, response_id: str | None = None,
                    created_at: int | None = None, finish: str | None = None,
                    error: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``response`` object echoing the request's settings, as the API answers it."""
    if status == "completed" and finish == "length":
        status = "incomplete"
    return {
        "id": response_id or new_id("resp"), "object": "response",
        "created_at": created_at if created_at is not None else int(time.time()),
        "status": status, "error": error,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": request.get("instructions"), "max_output_tokens": request.get("max_output_tokens"),
        "model": model, "output": output, "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": None, "reasoning": request.get("reasoning") or {"effort": None, "summary": None},
        "store": False, "temperature": request.get("temperature"), "top_p": request.get("top_p"),
        "text": request.get("text") or {"format": {"type": "text"}}, "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools") or [], "truncation": "disabled", "metadata": request.get("metadata") or {},
        "user": request.get("user"), "usage": usage,
    }


def to_response(completion: dict[str, Any], request: dict[str, Any], model: str) -> dict[str, Any]:
    choice = (completion.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    output: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if reasoning:
        output.append(reasoning_item(reasoning))
    if message.get("content"):
        output.append(message_item(message["content"]))
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        output.append(call_item(call.get("id") or new_id("call"), function.get("name") or "",
                                function.get("arguments") or ""))
    return response_object(request, model, status="completed", output=output,
                           usage=response_usage(completion.get("usage")), finish=choice.get("finish_reason"))
