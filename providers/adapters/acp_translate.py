"""Pure translation between OpenAI chat completions and the Agent Client Protocol.

An ACP agent keeps its own conversation per session; the gateway starts a fresh
session per request, so the chat history is rendered into the prompt as text
blocks. The agent's ``session/update`` notifications become chunk deltas, its
``stopReason`` a ``finish_reason``, and its permission requests are answered
from the provider's policy. No I/O here.
"""
from __future__ import annotations

import re
from typing import Any

from .content import content_text

STOP_REASONS = {
    "end_turn": "stop",
    "max_tokens": "length",
    "max_turn_requests": "length",
    "refusal": "content_filter",
    "cancelled": "stop",
}

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)$", re.S)


def finish_reason(stop_reason: Any) -> str:
    return STOP_REASONS.get(stop_reason if isinstance(stop_reason, str) else "", "stop")


def _render_turn(message: dict[str, Any]) -> str:
    role = message.get("role")
    text = content_text(message.get("content"), sep="", image="[image]")
    if role == "assistant":
        lines = [text] if text else []
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            lines.append(f"[tool call {call.get('id', '')}: "
                         f"{function.get('name', '')}({function.get('arguments', '')})]")
        return "Assistant: " + "\n".join(lines)
    if role in ("tool", "function"):
        return f"Tool result ({message.get('tool_call_id') or message.get('name') or ''}): {text}"
    return f"User: {text}"


def _last_user_blocks(content: Any, *, images: bool) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks: list[dict[str, Any]] = []
    for part in content if isinstance(content, list) else [content]:
        if isinstance(part, str):
            blocks.append({"type": "text", "text": part})
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            blocks.append({"type": "text", "text": part["text"]})
        elif isinstance(part, dict) and part.get("type") == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            match = _DATA_URL.match(url or "") if isinstance(url, str) else None
            if images and match:
                blocks.append({"type": "image", "mimeType": match["mime"], "data": match["data"]})
            else:
                blocks.append({"type": "text",
                               "text": f"[image: {url if isinstance(url, str) and not match else 'inline'}]"})
    return blocks


def render_prompt(messages: list[Any], *, images: bool = False) -> list[dict[str, Any]]:
    """ACP prompt content blocks for a chat ``messages`` list: system text, the
    earlier turns as a transcript, then the last user turn as it was sent."""
    messages = [m for m in messages if isinstance(m, dict)]
    system = "\n\n".join(
        content_text(m.get("content"), sep="", image="[image]")
        for m in messages if m.get("role") in ("system", "developer")
    )
    turns = [m for m in messages if m.get("role") not in ("system", "developer")]
    last_user = max((i for i, m in enumerate(turns) if m.get("role") == "user"), default=None)
    if last_user is not None and last_user == len(turns) - 1:
        history, final = turns[:last_user], turns[last_user]
    else:
        history, final = turns, None
    blocks: list[dict[str, Any]] = []
    if system.strip():
        blocks.append({"type": "text", "text": f"<system>\n{system}\n</system>"})
    if history:
        transcript = "\n\n".join(_render_turn(m) for m in history)
        blocks.append({"type": "text", "text": f"<conversation>\n{transcript}\n</conversation>"})
    if final is not None:
        blocks.extend(_last_user_blocks(final.get("content"), images=images))
    if not blocks:
        blocks.append({"type": "text", "text": ""})
    return blocks


def update_delta(update: Any) -> dict[str, Any] | None:
    """The chunk delta for one ``session/update`` (None for updates the chat
    surface does not show: tool calls, plans, usage, commands, modes)."""
    if not isinstance(update, dict):
        return None
    kind = update.get("sessionUpdate")
    content = update.get("content")
    if kind not in ("agent_message_chunk", "agent_thought_chunk") or not isinstance(content, dict):
        return None
    if content.get("type") != "text" or not isinstance(content.get("text"), str):
        return None
    if informational(update):
        return None
    key = "content" if kind == "agent_message_chunk" else "reasoning_content"
    return {key: content["text"]}


def informational(update: dict[str, Any]) -> bool:
    """Whether a message chunk is the agent's own notice, not the model's words.

    ``claude-agent-acp`` sends Claude Code's notices ("**Warning:** We're changing
    auto mode...") as ``agent_message_chunk``; the versions that mark them put
    ``_meta.claudeCode.kind: "informational"`` on the update or its content. Those
    are left out of the answer (logged, not relayed): a chat client asked the
    model, and a notice glued to its text corrupts the answer (and any JSON the
    model was asked for). An unmarked notice (older agents) cannot be told from
    the model's text and passes through."""
    for holder in (update, update.get("content")):
        meta = holder.get("_meta") if isinstance(holder, dict) else None
        claude = meta.get("claudeCode") if isinstance(meta, dict) else None
        if isinstance(claude, dict) and claude.get("kind") == "informational":
            return True
    return False


def permission_outcome(params: Any, policy: str) -> dict[str, Any]:
    """The ``session/request_permission`` result under ``policy`` (``deny`` or
    ``allow``): the first option of the matching kind, else ``cancelled``."""
    options = params.get("options") if isinstance(params, dict) else None
    wanted = ("allow_once", "allow_always") if policy == "allow" else ("reject_once", "reject_always")
    for kind in wanted:
        for option in options or ():
            if isinstance(option, dict) and option.get("kind") == kind and option.get("optionId"):
                return {"outcome": {"outcome": "selected", "optionId": option["optionId"]}}
    return {"outcome": {"outcome": "cancelled"}}


def to_chat_usage(usage: Any) -> dict[str, Any] | None:
    """The prompt result's ``usage`` (``inputTokens``/``outputTokens``), when the agent reports one."""
    if not isinstance(usage, dict):
        return None
    prompt = usage.get("inputTokens")
    completion = usage.get("outputTokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    total = usage.get("totalTokens")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total if isinstance(total, int) else prompt + completion,
    }


def model_selection(session: Any, model: str) -> tuple[str, dict[str, Any]] | None:
    """The request that switches a new session to ``model``, if the agent offers it
    and it is not already current: ``session/set_config_option`` for agents with
    a ``model`` config option, ``session/set_model`` for those with ``models``."""
    if not isinstance(session, dict) or not model:
        return None
    session_id = session.get("sessionId")
    for option in session.get("configOptions") or ():
        if not isinstance(option, dict):
            continue
        if option.get("category") == "model" or option.get("id") == "model":
            values = [o.get("value") for o in option.get("options") or () if isinstance(o, dict)]
            if model in values and option.get("currentValue") != model:
                return "session/set_config_option", {"sessionId": session_id, "configId": option.get("id"),
                                                     "value": model}
            return None
    models = session.get("models")
    if isinstance(models, dict):
        ids = [m.get("modelId") for m in models.get("availableModels") or () if isinstance(m, dict)]
        if model in ids and models.get("currentModelId") != model:
            return "session/set_model", {"sessionId": session_id, "modelId": model}
    return None
