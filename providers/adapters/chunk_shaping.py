"""Per-provider rewriting of OpenAI-compatible answers, off unless a setting asks.

- ``reasoning_field``: vLLM and Ollama send a model's reasoning as ``reasoning``,
  most others (DeepSeek, DashScope, LiteLLM) as ``reasoning_content``. With this
  set, the other name is renamed to it in every delta and message, so clients
  read one field whatever the backend.

The relay passes frames through undecoded; only a frame that holds the other
name is decoded and re-encoded, so a backend that already uses the chosen name
costs a substring search per read.
"""
from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

REASONING_FIELDS = ("reasoning_content", "reasoning")

Fix = Callable[[bytes], bytes]


def _rename(message: Any, source: str, target: str) -> None:
    if isinstance(message, dict) and source in message:
        value = message.pop(source)
        if message.get(target) is None:
            message[target] = value


def _fix_choices(obj: Any, key: str, source: str, target: str) -> None:
    if isinstance(obj, dict):
        for choice in obj.get("choices") or ():
            if isinstance(choice, dict):
                _rename(choice.get(key), source, target)


def reasoning_fix(settings: dict[str, Any]) -> tuple[Fix, Fix] | None:
    """(stream fix, completion fix) for the provider's ``reasoning_field``, or None."""
    target = settings.get("reasoning_field")
    if target not in REASONING_FIELDS:
        return None
    source = REASONING_FIELDS[1] if target == REASONING_FIELDS[0] else REASONING_FIELDS[0]
    marker = f'"{source}"'.encode()

    def frames(data: bytes) -> bytes:
        if marker not in data:
            return data
        out = []
        for frame in data.split(b"\n\n"):
            if marker in frame and frame.startswith(b"data: {"):
                try:
                    chunk = json.loads(frame[6:])
                except ValueError:
                    out.append(frame)
                    continue
                _fix_choices(chunk, "delta", source, target)
                frame = b"data: " + json.dumps(chunk, ensure_ascii=False, separators=(",", ":")).encode()
            out.append(frame)
        return b"\n\n".join(out)

    def completion(payload: bytes) -> bytes:
        if marker not in payload:
            return payload
        try:
            answer = json.loads(payload)
        except ValueError:
            return payload
        _fix_choices(answer, "message", source, target)
        return json.dumps(answer, ensure_ascii=False).encode()

    return frames, completion


async def mapped(agen: AsyncIterator[bytes], fix: Fix) -> AsyncIterator[bytes]:
    """``agen``'s items through ``fix``; closing this closes ``agen`` (the upstream)."""
    try:
        async for item in agen:
            yield fix(item)
    finally:
        await agen.aclose()  # type: ignore[attr-defined]
