"""Pure translation between OpenAI chat completions and the Anthropic Messages API.

- ``to_messages_request(body, ...)``: an OpenAI chat request becomes a Messages
  request (system/developer turns to ``system``, tool calls and tool results to
  ``tool_use``/``tool_result`` blocks, images to image blocks, ...).
- ``to_completion(message)``: a Messages answer becomes a ``chat.completion``.
- ``StreamTranslator``: Messages stream events become ``chat.completion.chunk``
  dicts, one event at a time, so the adapter can relay them live.

No network and no Django here beyond ``gettext``; ``TranslationError`` carries a
client mistake (answered with 400).
"""
from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from .chat_chunks import ChunkMaker
from .content import TranslationError, content_text

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: str | None) -> str | None:
    if stop_reason is None:
        return None
    return FINISH_REASONS.get(stop_reason, "stop")


def usage_from(usage: dict[str, Any] | None) -> dict[str, Any]:
    """OpenAI usage from Anthropic usage; cached input counts as prompt tokens."""
    usage = usage or {}
    cache_read = int(usage.get("cache_read_input_tokens") or 0)
    cache_write = int(usage.get("cache_creation_input_tokens") or 0)
    prompt = int(usage.get("input_tokens") or 0) + cache_read + cache_write
    completion = int(usage.get("output_tokens") or 0)
    out: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                           "total_tokens": prompt + completion}
    if cache_read:
        out["prompt_tokens_details"] = {"cached_tokens": cache_read}
    return out


# -- request -------------------------------------------------------------------------


def _image_block(part: dict[str, Any], param: str) -> dict[str, Any]:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url:
        raise TranslationError(_("An image part needs an image_url with a url."), param)
    if url.startswith("data:"):
        header, sep, data = url[5:].partition(",")
        media_type, _sep, encoding = header.partition(";")
        if not sep or encoding != "base64" or not media_type:
            raise TranslationError(_("An image data URL must be base64-encoded (data:<type>;base64,...)."), param)
        try:
            base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise TranslationError(_("An image data URL does not hold valid base64."), param) from None
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise TranslationError(_("An image URL must be an http(s) URL or a data URL."), param)


def _file_block(part: dict[str, Any], param: str) -> dict[str, Any]:
    file = part.get("file") or {}
    data = file.get("file_data") if isinstance(file, dict) else None
    if isinstance(data, str) and data.startswith("data:application/pdf;base64,"):
        return {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                               "data": data.split(",", 1)[1]}}
    raise TranslationError(_("Only PDF files sent inline as a data URL are supported."), param)


def _user_blocks(content: Any, param: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise TranslationError(_("Message content must be a string or an array of content parts."), param)
    blocks = []
    for j, part in enumerate(content):
        where = f"{param}.content[{j}]"
        ptype = part.get("type") if isinstance(part, dict) else None
        if ptype in ("text", "input_text"):
            if part.get("text"):
                blocks.append({"type": "text", "text": part["text"]})
        elif ptype == "image_url":
            blocks.append(_image_block(part, where))
        elif ptype == "file":
            blocks.append(_file_block(part, where))
        else:
            raise TranslationError(
                _("The content part type “%(type)s” is not supported by this provider.") % {"type": ptype}, where
            )
    return blocks


def _tool_input(arguments: Any, param: str) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    if arguments in (None, ""):
        return {}
    try:
        parsed = json.loads(arguments)
    except (TypeError, ValueError):
        raise TranslationError(_("Tool call arguments must be a JSON object."), param) from None
    if not isinstance(parsed, dict):
        raise TranslationError(_("Tool call arguments must be a JSON object."), param)
    return parsed


def _assistant_blocks(message: dict[str, Any], param: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    content = message.get("content")
    if isinstance(content, str):
        if content:
            blocks.append({"type": "text", "text": content})
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and part.get("type") in ("text", "output_text", "refusal"):
                text = part.get("text") or part.get("refusal") or ""
                if text:
                    blocks.append({"type": "text", "text": text})
    for k, call in enumerate(message.get("tool_calls") or []):
        function = call.get("function") or {}
        if not call.get("id") or not function.get("name"):
            raise TranslationError(_("A tool call needs an id and a function name."), f"{param}.tool_calls[{k}]")
        blocks.append({
            "type": "tool_use",
            "id": call["id"],
            "name": function["name"],
            "input": _tool_input(function.get("arguments"), f"{param}.tool_calls[{k}].function.arguments"),
        })
    return blocks


def _tools(tools: Any) -> list[dict[str, Any]]:
    out = []
    for i, tool in enumerate(tools or []):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not function.get("name"):
            raise TranslationError(_("Only function tools with a name are supported."), f"tools[{i}]")
        entry: dict[str, Any] = {
            "name": function["name"],
            "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
        }
        if function.get("description"):
            entry["description"] = function["description"]
        out.append(entry)
    return out


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    if choice is None:
        result: dict[str, Any] | None = {"type": "auto"} if parallel is False else None
    elif choice == "auto":
        result = {"type": "auto"}
    elif choice == "none":
        return {"type": "none"}
    elif choice == "required":
        result = {"type": "any"}
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict) and choice["function"].get("name"):
        result = {"type": "tool", "name": choice["function"]["name"]}
    else:
        raise TranslationError(_("tool_choice must be “auto”, “none”, “required” or a named function."), "tool_choice")
    if result is not None and parallel is False:
        result["disable_parallel_tool_use"] = True
    return result


def _merge_turns(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive turns of one role become one turn (tool results then user text)."""
    merged: list[dict[str, Any]] = []
    for turn in turns:
        if not turn["content"]:
            continue
        if merged and merged[-1]["role"] == turn["role"]:
            merged[-1]["content"].extend(turn["content"])
        else:
            merged.append({"role": turn["role"], "content": list(turn["content"])})
    return merged


def to_messages_request(body: dict[str, Any], *, default_max_tokens: int, stream: bool) -> dict[str, Any]:
    messages = body.get("messages") or []
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        param = f"messages[{i}]"
        if not isinstance(message, dict):
            raise TranslationError(_("Each message must be an object."), param)
        role = message.get("role")
        if role in ("system", "developer"):
            text = content_text(message.get("content"), param=param)
            if text:
                system.append(text)
        elif role == "user":
            turns.append({"role": "user", "content": _user_blocks(message.get("content"), param)})
        elif role == "assistant":
            turns.append({"role": "assistant", "content": _assistant_blocks(message, param)})
        elif role == "tool":
            if not message.get("tool_call_id"):
                raise TranslationError(_("A tool message needs a tool_call_id."), param)
            turns.append({"role": "user", "content": [{
                "type": "tool_result",
                "tool_use_id": message["tool_call_id"],
                "content": content_text(message.get("content"), param=param),
            }]})
        else:
            raise TranslationError(_("The message role “%(role)s” is not supported.") % {"role": role}, param)
    merged = _merge_turns(turns)
    if not merged:
        raise TranslationError(_("At least one user or assistant message with content is required."), "messages")

    if body.get("n") not in (None, 1):
        raise TranslationError(_("Only n=1 is supported by this provider."), "n")
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or default_max_tokens
    out: dict[str, Any] = {"model": body.get("model"), "max_tokens": int(max_tokens), "messages": merged}
    if system:
        out["system"] = "\n\n".join(system)
    stop = body.get("stop")
    if isinstance(stop, str):
        out["stop_sequences"] = [stop]
    elif isinstance(stop, list) and stop:
        out["stop_sequences"] = [s for s in stop if isinstance(s, str) and s]
    if body.get("temperature") is not None:
        # OpenAI accepts 0..2, Anthropic 0..1.
        out["temperature"] = min(float(body["temperature"]), 1.0)
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]
    for passthrough in ("top_k", "thinking", "metadata", "service_tier"):
        if body.get(passthrough) is not None:
            out[passthrough] = body[passthrough]
    if isinstance(body.get("user"), str) and "metadata" not in out:
        out["metadata"] = {"user_id": body["user"]}
    if body.get("tools"):
        out["tools"] = _tools(body["tools"])
    choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is not None and out.get("tools"):
        out["tool_choice"] = choice
    if stream:
        out["stream"] = True
    return out


# -- non-streaming answer --------------------------------------------------------------


def to_completion(message: dict[str, Any], *, created: int) -> dict[str, Any]:
    texts: list[str] = []
    thinking: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for block in message.get("content") or []:
        btype = block.get("type")
        if btype == "text":
            texts.append(block.get("text") or "")
        elif btype == "thinking":
            thinking.append(block.get("thinking") or "")
        elif btype == "tool_use":
            tool_calls.append({
                "id": block.get("id"),
                "type": "function",
                "function": {"name": block.get("name"),
                             "arguments": json.dumps(block.get("input") or {}, ensure_ascii=False)},
            })
    out_message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not tool_calls else None,
        "refusal": None,
    }
    if thinking:
        out_message["reasoning_content"] = "".join(thinking)
    if tool_calls:
        out_message["tool_calls"] = tool_calls
    return {
        "id": message.get("id") or "",
        "object": "chat.completion",
        "created": created,
        "model": message.get("model") or "",
        "choices": [{
            "index": 0,
            "message": out_message,
            "logprobs": None,
            "finish_reason": finish_reason(message.get("stop_reason")) or "stop",
        }],
        "usage": usage_from(message.get("usage")),
    }


# -- streaming answer ---------------------------------------------------------------------


class StreamError(Exception):
    """An ``error`` event inside a stream: (type, message) from its body."""

    def __init__(self, etype: str, message: str) -> None:
        super().__init__(message)
        self.etype = etype
        self.message = message


class StreamTranslator:
    """Anthropic stream events in, OpenAI chunk dicts out.

    The role goes out the way OpenAI sends it: alone with ``content: ""`` before
    text, inside the first chunk of a tool call (``content: null``) or of the
    reasoning.

    ``feed(event)`` returns the chunks one event produces (often one, sometimes
    none); ``done`` turns true at ``message_stop``. Several ``message_start``s
    (an agent running many turns, as the Claude CLI does) give one answer: the
    role chunk is sent once and usage adds up. With ``tools=False`` tool_use
    blocks are not turned into tool calls (the CLI runs its tools itself).
    """

    def __init__(self, model: str, *, include_usage: bool, created: int, tools: bool = True) -> None:
        self.maker = ChunkMaker(model, created=created)
        self.include_usage = include_usage
        self.tools = tools
        self.started = False
        self.done = False
        self.finish: str | None = None
        self.usage: dict[str, Any] = {}
        self._turn_usage: dict[str, Any] = {}
        self._tool_index: dict[int, int] = {}
        self._tool_count = 0

    def _role_chunk(self) -> list[dict[str, Any]]:
        if self.started:
            return []
        self.started = True
        return [self.maker.chunk({"role": "assistant", "content": ""})]

    def _end_turn_usage(self) -> None:
        for key, value in self._turn_usage.items():
            if isinstance(value, int):
                self.usage[key] = self.usage.get(key, 0) + value
        self._turn_usage = {}

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        etype = event.get("type")
        if etype == "message_start":
            message = event.get("message") or {}
            if not self.started:
                # The answer's own id and model (the model an alias resolved to).
                if message.get("id"):
                    self.maker.id = message["id"]
                if message.get("model"):
                    self.maker.model = message["model"]
            self._end_turn_usage()
            self._turn_usage = dict(message.get("usage") or {})
            self._tool_index = {}
            return []
        if etype == "content_block_start":
            block = event.get("content_block") or {}
            btype = block.get("type")
            if btype == "tool_use" and self.tools:
                index = self._tool_count
                self._tool_count += 1
                self._tool_index[event.get("index", 0)] = index
                call = {"index": index, "id": block.get("id"), "type": "function",
                        "function": {"name": block.get("name"), "arguments": ""}}
                if not self.started:
                    # As OpenAI does: the role comes with the first tool call.
                    self.started = True
                    return [self.maker.chunk({"role": "assistant", "content": None, "tool_calls": [call]})]
                return [self.maker.chunk({"tool_calls": [call]})]
            if btype == "text":
                out = self._role_chunk()
                if block.get("text"):
                    out.append(self.maker.chunk({"content": block["text"]}))
                return out
            return []
        if etype == "content_block_delta":
            delta = event.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta" and delta.get("text"):
                return [*self._role_chunk(), self.maker.chunk({"content": delta["text"]})]
            if dtype == "thinking_delta" and delta.get("thinking"):
                if not self.started:
                    self.started = True
                    return [self.maker.chunk({"role": "assistant", "content": "",
                                              "reasoning_content": delta["thinking"]})]
                return [self.maker.chunk({"reasoning_content": delta["thinking"]})]
            if dtype == "input_json_delta" and self.tools:
                found = self._tool_index.get(event.get("index", 0))
                if found is not None and delta.get("partial_json"):
                    call = {"index": found, "function": {"arguments": delta["partial_json"]}}
                    return [self.maker.chunk({"tool_calls": [call]})]
            # signature_delta and citations carry nothing an OpenAI client can use.
            return []
        if etype == "message_delta":
            usage = event.get("usage") or {}
            for key, value in usage.items():
                if isinstance(value, int):
                    self._turn_usage[key] = value
            reason = (event.get("delta") or {}).get("stop_reason")
            if reason is not None:
                self.finish = finish_reason(reason)
            return []
        if etype == "message_stop":
            self._end_turn_usage()
            self.done = True
            return []
        if etype == "error":
            error = event.get("error") or {}
            raise StreamError(str(error.get("type") or "api_error"), str(error.get("message") or ""))
        return []  # ping and unknown events

    def final_chunks(self, finish: str | None = None, usage: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The finish chunk and, when asked for, the usage chunk."""
        out = self._role_chunk()
        out.append(self.maker.chunk({}, finish or self.finish or "stop"))
        if self.include_usage:
            out.append(self.maker.usage_chunk(usage if usage is not None else usage_from(self.usage)))
        return out


# -- models -------------------------------------------------------------------------------


def model_entry(item: dict[str, Any], owner: str, default_created: int) -> dict[str, Any] | None:
    model_id = item.get("id")
    if not isinstance(model_id, str) or not model_id:
        return None
    created = default_created
    stamp = item.get("created_at")
    if isinstance(stamp, str):
        try:
            created = int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
        except ValueError:
            pass
    return {"id": model_id, "object": "model", "created": created, "owned_by": owner}
