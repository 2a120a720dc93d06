"""Pure translation for the Claude Code CLI (``claude -p --output-format stream-json``).

- ``render_prompt(messages)``: the OpenAI conversation becomes a system prompt
  (system and developer turns) and one prompt text for stdin. A lone user turn is
  sent as it is; earlier turns are rendered as a labelled transcript before the
  current message, since ``-p`` takes a single prompt.
- ``CliTranslator``: the CLI's JSON lines become ``chat.completion.chunk`` dicts.
  ``stream_event`` lines (``--include-partial-messages``) carry the raw Messages
  API events and give live text/thinking deltas; ``assistant`` lines are used
  only for messages that had no partial events (older CLIs); the ``result`` line
  ends the answer with its ``stop_reason`` and total ``usage``, or, when
  ``is_error``, with a ``CliError``. A ``system``/``api_retry`` line (the CLI's
  API call failed and it will retry, up to ten times with backoff) ends the
  answer at once with a ``CliError`` naming the cause: the client learns within
  a second that the backend is unreachable instead of waiting for the CLI's
  retries or the provider's timeout, and can retry or fall back itself. Tool use inside the CLI is the CLI's own
  business and is not shown as OpenAI tool calls.
"""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from .anthropic_translate import StreamTranslator, finish_reason, usage_from
from .content import TranslationError, content_text


class CliError(Exception):
    """The CLI reported a failed run (``result`` with ``is_error``)."""

    def __init__(self, message: str, upstream_status: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.upstream_status = upstream_status


def _turn(message: dict[str, Any], param: str) -> str:
    role = message.get("role")
    text = content_text(message.get("content"), param=param)
    if role == "user":
        return f"User: {text}"
    if role == "assistant":
        lines = [f"Assistant: {text}"] if text else []
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            lines.append(f"Assistant called the tool {function.get('name')} (call {call.get('id')}) with arguments: "
                         f"{function.get('arguments') or '{}'}")
        return "\n".join(lines) or "Assistant:"
    if role == "tool":
        return f"Tool result (call {message.get('tool_call_id')}): {text}"
    raise TranslationError(_("The message role “%(role)s” is not supported.") % {"role": role}, param)


def render_prompt(messages: list[Any]) -> tuple[str | None, str]:
    """(system prompt or None, prompt text for stdin)."""
    system: list[str] = []
    turns: list[tuple[dict[str, Any], str]] = []
    for i, message in enumerate(messages):
        param = f"messages[{i}]"
        if not isinstance(message, dict):
            raise TranslationError(_("Each message must be an object."), param)
        if message.get("role") in ("system", "developer"):
            text = content_text(message.get("content"), param=param)
            if text:
                system.append(text)
        else:
            _turn(message, param)  # validates the turn early
            turns.append((message, param))
    if not turns:
        raise TranslationError(_("At least one user or assistant message with content is required."), "messages")
    last, last_param = turns[-1]
    if last.get("role") == "user":
        history, current = turns[:-1], content_text(last.get("content"), param=last_param)
    else:
        history, current = turns, ""
    if not history:
        prompt = current
    else:
        transcript = "\n\n".join(_turn(m, p) for m, p in history)
        prompt = (
            "This conversation continues from earlier turns, shown here as a transcript:\n\n"
            f"<transcript>\n{transcript}\n</transcript>\n\n"
        )
        prompt += f"The user's new message:\n\n{current}" if current else "Continue from the last turn."
    return ("\n\n".join(system) if system else None), prompt


class CliTranslator:
    """The CLI's JSON lines in, OpenAI chunk dicts out (see the module docstring)."""

    def __init__(self, model: str, *, include_usage: bool, created: int) -> None:
        self.events = StreamTranslator(model, include_usage=include_usage, created=created, tools=False)
        self.done = False
        self.session_id: str | None = None
        self._partial_messages: set[str] = set()
        self._current_message: str | None = None

    def feed(self, line: dict[str, Any]) -> list[dict[str, Any]]:
        kind = line.get("type")
        if line.get("parent_tool_use_id"):
            return []  # a sub-agent's inner work, not the answer
        if kind == "system" and line.get("subtype") == "init":
            self.session_id = line.get("session_id")
            return []
        if kind == "system" and line.get("subtype") == "api_retry":
            raise retry_error(line)
        if kind == "stream_event":
            event = line.get("event") or {}
            if event.get("type") == "message_start":
                self._current_message = (event.get("message") or {}).get("id")
            if self._current_message:
                self._partial_messages.add(self._current_message)
            if event.get("type") == "error":
                error = event.get("error") or {}
                raise CliError(str(error.get("message") or _("The Claude Code CLI reported an error.")), None)
            return self.events.feed(event)
        if kind == "assistant":
            return self._whole_message(line)
        if kind == "result":
            return self._result(line)
        return []  # system/status, user (tool results), rate-limit notices, ...

    def _whole_message(self, line: dict[str, Any]) -> list[dict[str, Any]]:
        message = line.get("message") or {}
        if line.get("error") or message.get("model") == "<synthetic>":
            return []  # the CLI's own rendering of an API error; the result line reports it
        if message.get("id") in self._partial_messages:
            return []  # already streamed from stream_event lines
        out: list[dict[str, Any]] = []
        for block in message.get("content") or []:
            if block.get("type") == "thinking" and block.get("thinking"):
                out += self.events.feed({"type": "content_block_delta", "index": 0,
                                         "delta": {"type": "thinking_delta", "thinking": block["thinking"]}})
            elif block.get("type") == "text" and block.get("text"):
                out += self.events.feed({"type": "content_block_start", "index": 0,
                                         "content_block": {"type": "text", "text": ""}})
                out += self.events.feed({"type": "content_block_delta", "index": 0,
                                         "delta": {"type": "text_delta", "text": block["text"]}})
        return out

    def _result(self, line: dict[str, Any]) -> list[dict[str, Any]]:
        self.done = True
        if line.get("is_error"):
            message = line.get("result")
            if not isinstance(message, str) or not message:
                errors = line.get("errors")
                message = "; ".join(str(e) for e in errors) if isinstance(errors, list) and errors else ""
            status = line.get("api_error_status")
            raise CliError(
                message or _("The Claude Code CLI reported an error (%(subtype)s).") % {"subtype": line.get("subtype")},
                status if isinstance(status, int) else None,
            )
        return self.events.final_chunks(
            finish=finish_reason(line.get("stop_reason")) or "stop",
            usage=usage_from(line.get("usage")) if isinstance(line.get("usage"), dict) else None,
        )



def retry_error(line: dict[str, Any]) -> CliError:
    """The CLI's first ``api_retry`` line as the request's error (see the module docstring)."""
    status = line.get("error_status")
    params = {"error": str(line.get("error") or "unknown")[:100], "status": status,
              "max": line.get("max_retries") if isinstance(line.get("max_retries"), int) else "?"}
    if isinstance(status, int):
        message = _("The Claude Code CLI's API call failed with HTTP %(status)s (%(error)s); the CLI would retry "
                    "it up to %(max)s times, so the gateway ends the request now.") % params
        return CliError(message, status)
    message = _("The Claude Code CLI could not reach its API (%(error)s, no HTTP answer); the CLI would retry "
                "up to %(max)s times, so the gateway ends the request now.") % params
    return CliError(message, None)
