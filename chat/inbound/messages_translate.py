"""Pure translation of the Anthropic Messages API (inbound) to and from OpenAI
chat completions, the direction opposite to ``providers/adapters/anthropic_translate``.

- ``to_chat_request(body)``: a Messages request becomes a chat completions request.
- ``to_message(completion, model)``: a ``chat.completion`` becomes a Messages answer.

No I/O here. ``MessagesInputError`` carries a client mistake (answered with 400).
"""
from __future__ import annotations

import json
import uuid
from typing import Any

from django.utils.translation import gettext as _

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

# Anthropic's extended-thinking budget mapped onto OpenAI's reasoning_effort,
# the only thinking knob chat completions backends share (vLLM, OpenAI, Ollama).
EFFORT_BUDGETS = ((4096, "low"), (16384, "medium"))


class MessagesInputError(ValueError):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def stop_reason(finish: str | None) -> str:
    return STOP_REASONS.get(finish or "stop", "end_turn")


def message_usage(usage: dict[str, Any] | None) -> dict[str, int]:
    """Anthropic usage from OpenAI usage: cached prompt tokens are reported apart."""
    usage = usage or {}
    cached = int(((usage.get("prompt_tokens_details") or {}).get("cached_tokens")) or 0)
    return {
        "input_tokens": max(0, int(usage.get("prompt_tokens") or 0) - cached),
        "output_tokens": int(usage.get("completion_tokens") or 0),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }


def new_message_id() -> str:
    return "msg_" + uuid.uuid4().hex[:24]


# -- request -------------------------------------------------------------------------


def _text(content: Any, param: str) -> str:
    """Plain text of ``system`` or a ``tool_result``'s content (string or blocks)."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise MessagesInputError(_("Content must be a string or an array of content blocks."), param)
    parts = []
    for block in content:
        if isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text") or ""))
        elif isinstance(block, dict) and block.get("type") == "image":
            parts.append("[image]")  # chat completions tool results carry text only
        else:
            raise MessagesInputError(_("Only text blocks are supported here."), param)
    return "\n".join(parts)


def _image_part(block: dict[str, Any], param: str) -> dict[str, Any]:
    source = block.get("source") or {}
    if source.get("type") == "base64" and source.get("media_type") and source.get("data"):
        url = f"data:{source['media_type']};base64,{source['data']}"
    elif source.get("type") == "url" and source.get("url"):
        url = source["url"]
    else:
        raise MessagesInputError(_("An image block needs a base64 or url source."), param)
    return {"type": "image_url", "image_url": {"url": url}}


def _user_turn(content: list[Any], param: str) -> list[dict[str, Any]]:
    """Tool results become ``tool`` messages (first, answering the previous
    assistant turn), the rest one ``user`` message."""
    tools: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for j, block in enumerate(content):
        where = f"{param}.content.{j}"
        btype = block.get("type") if isinstance(block, dict) else None
        if btype == "text":
            parts.append({"type": "text", "text": str(block.get("text") or "")})
        elif btype == "image":
            parts.append(_image_part(block, where))
        elif btype == "tool_result":
            text = _text(block.get("content"), where)
            if block.get("is_error"):
                text = f"Error: {text}"
            tools.append({"role": "tool", "tool_call_id": str(block.get("tool_use_id") or ""), "content": text})
        elif btype == "document":
            raise MessagesInputError(_("Document blocks cannot be sent to this provider."), where)
        else:
            raise MessagesInputError(_("Unsupported content block type: %(type)s.") % {"type": btype}, where)
    out = tools
    if parts:
        only_text = all(p["type"] == "text" for p in parts)
        out.append({"role": "user", "content": "\n".join(p["text"] for p in parts) if only_text else parts})
    return out


def _assistant_turn(content: list[Any], param: str) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for j, block in enumerate(content):
        btype = block.get("type") if isinstance(block, dict) else None
        if btype == "text":
            texts.append(str(block.get("text") or ""))
        elif btype == "tool_use":
            calls.append({"id": str(block.get("id") or ""), "type": "function", "function": {
                "name": str(block.get("name") or ""),
                "arguments": json.dumps(block.get("input") or {}, ensure_ascii=False)}})
        elif btype in ("thinking", "redacted_thinking"):
            continue  # earlier reasoning is not replayed to chat completions backends
        else:
            raise MessagesInputError(_("Unsupported content block type: %(type)s.") % {"type": btype},
                                     f"{param}.content.{j}")
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        message["tool_calls"] = calls
    return message


def _messages(messages: Any) -> list[dict[str, Any]]:
    if not isinstance(messages, list) or not messages:
        raise MessagesInputError(_("“messages” must be a non-empty array."), "messages")
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        param = f"messages.{i}"
        role = message.get("role") if isinstance(message, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list):
            raise MessagesInputError(_("Content must be a string or an array of content blocks."), param)
        if role == "user":
            out.extend(_user_turn(content, param))
        elif role == "assistant":
            out.append(_assistant_turn(content, param))
        elif role == "system":  # the mid-conversation system beta
            out.append({"role": "system", "content": _text(content, param)})
        else:
            raise MessagesInputError(_("A message role must be “user” or “assistant”."), f"{param}.role")
    return out


def _tools(tools: Any) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise MessagesInputError(_("“tools” must be an array."), "tools")
    out = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or not tool.get("name"):
            raise MessagesInputError(_("Each tool needs a name."), f"tools.{i}")
        if tool.get("type") not in (None, "custom"):
            # Anthropic's server tools (web search, code execution) run at Anthropic only.
            raise MessagesInputError(
                _("The server tool “%(type)s” is only available from an Anthropic provider.") % {"type": tool["type"]},
                f"tools.{i}")
        function: dict[str, Any] = {"name": tool["name"], "parameters": tool.get("input_schema") or {"type": "object"}}
        if tool.get("description"):
            function["description"] = tool["description"]
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(choice: Any, out: dict[str, Any]) -> None:
    if not isinstance(choice, dict):
        raise MessagesInputError(_("“tool_choice” must be an object."), "tool_choice")
    kind = choice.get("type")
    if kind == "tool":
        out["tool_choice"] = {"type": "function", "function": {"name": str(choice.get("name") or "")}}
    elif kind in ("auto", "any", "none"):
        out["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}[kind]
    else:
        raise MessagesInputError(_("Unknown tool_choice type: %(type)s.") % {"type": kind}, "tool_choice")
    if choice.get("disable_parallel_tool_use") and out.get("tools"):
        out["parallel_tool_calls"] = False


def to_chat_request(body: dict[str, Any]) -> dict[str, Any]:
    """The chat completions request for a Messages request (``model`` kept as given)."""
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise MessagesInputError(_("“max_tokens” is required and must be a positive integer."), "max_tokens")
    messages = _messages(body.get("messages"))
    system = body.get("system")
    if system:
        messages.insert(0, {"role": "system", "content": _text(system, "system")})
    out: dict[str, Any] = {"model": body.get("model"), "messages": messages, "max_tokens": max_tokens}
    if body.get("tools"):
        out["tools"] = _tools(body["tools"])
    if body.get("tool_choice") is not None:
        _tool_choice(body["tool_choice"], out)
    stops = body.get("stop_sequences")
    if stops:
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise MessagesInputError(_("“stop_sequences” must be an array of strings."), "stop_sequences")
        out["stop"] = stops
    for name in ("temperature", "top_p", "top_k"):
        if body.get(name) is not None:
            out[name] = body[name]
    user = (body.get("metadata") or {}).get("user_id") if isinstance(body.get("metadata"), dict) else None
    if user:
        out["user"] = str(user)
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = int(thinking.get("budget_tokens") or 0)
        out["reasoning_effort"] = next((e for limit, e in EFFORT_BUDGETS if budget < limit), "high")
    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


# -- answer ----------------------------------------------------------------------------


def tool_input(arguments: Any) -> dict[str, Any]:
    """A tool call's arguments as the ``input`` object (a backend may send broken JSON)."""
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return {"_arguments": str(arguments)}
    return value if isinstance(value, dict) else {"_arguments": value}


def to_message(completion: dict[str, Any], model: str) -> dict[str, Any]:
    """The Messages answer for a ``chat.completion``."""
    choice = (completion.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    if message.get("content"):
        content.append({"type": "text", "text": message["content"]})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        content.append({"type": "tool_use", "id": call.get("id") or "toolu_" + uuid.uuid4().hex[:24],
                        "name": function.get("name") or "", "input": tool_input(function.get("arguments"))})
    return {
        "id": new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(choice.get("finish_reason")),
        "stop_sequence": None,
        "usage": message_usage(completion.get("usage")),
    }


def estimate_input_tokens(body: dict[str, Any]) -> int:
    """A rough count for backends that cannot count: one token per four characters
    of the JSON text of ``system``, ``messages`` and ``tools`` (the usual rule of
    thumb for English and code). Always labelled an estimate by the caller."""
    text = json.dumps([body.get("system"), body.get("messages"), body.get("tools")], ensure_ascii=False)
    return max(1, (len(text) + 3) // 4)
