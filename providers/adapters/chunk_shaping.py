"""Per-provider rewriting of OpenAI-compatible answers, off unless a setting asks.

- ``reasoning_field``: vLLM and Ollama send a model's reasoning as ``reasoning``,
  most others (DeepSeek, DashScope, LiteLLM) as ``reasoning_content``. With this
  set, the other name is renamed to it in every delta and message, so clients
  read one field whatever the backend.

- ``normalize_chunks``: without it a ``custom`` stream passes the backend's
  chunks through as they are, vendor extras included (``choices: null``,
  ``x_groq``, ``usage`` inside a chunk with choices, ``role`` repeated in every
  delta). With it every chunk is rewritten to the exact OpenAI shape: top-level
  members OpenAI does not send are dropped, ``choices: null`` becomes ``[]``,
  each choice's first delta carries ``role: "assistant"`` and no later one does;
  a non-streamed answer loses the unknown top-level members too.

The relay passes frames through undecoded; only a frame that holds the other
reasoning name is decoded and re-encoded, so a backend that already uses the
chosen name costs a substring search per read. ``normalize_chunks`` decodes
every frame, which is why it is off by default.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .base import Frames

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


# The members OpenAI's chat completions (and their chunks) have at the top level.
OPENAI_MEMBERS = frozenset({"id", "object", "created", "model", "system_fingerprint", "service_tier", "choices",
                            "usage"})


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def normaliser() -> Fix:
    """A stream fix (with its own state: call once per stream) for ``normalize_chunks``."""
    roles: set[Any] = set()

    def one(chunk: dict[str, Any]) -> dict[str, Any]:
        chunk = {k: v for k, v in chunk.items() if k in OPENAI_MEMBERS}
        if not isinstance(chunk.get("choices"), list):
            chunk["choices"] = []
        for choice in chunk["choices"]:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if not isinstance(delta, dict):
                continue
            index = choice.get("index", 0)
            if index in roles:
                delta.pop("role", None)
            else:
                roles.add(index)
                choice["delta"] = {"role": "assistant", **{k: v for k, v in delta.items() if k != "role"}}
        return chunk

    def frames(data: bytes) -> bytes:
        out = []
        for frame in data.split(b"\n\n"):
            if frame.startswith(b"data: {"):
                try:
                    frame = b"data: " + _dump(one(json.loads(frame[6:])))
                except ValueError:
                    pass
            out.append(frame)
        return b"\n\n".join(out)

    return frames


def normalise_completion(payload: bytes) -> bytes:
    try:
        answer = json.loads(payload)
    except ValueError:
        return payload
    if not isinstance(answer, dict):
        return payload
    return json.dumps({k: v for k, v in answer.items() if k in OPENAI_MEMBERS}, ensure_ascii=False).encode()


class Shaping:
    """What a provider's settings ask of its answers (see the module docstring)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.reasoning = reasoning_fix(settings)
        self.normalise = settings.get("normalize_chunks") is True
        self.active = self.reasoning is not None or self.normalise

    def stream(self, frames: Frames) -> Frames:
        if not self.active:
            return frames
        fixes = ([self.reasoning[0]] if self.reasoning else []) + ([normaliser()] if self.normalise else [])

        def fix(data: bytes) -> bytes:
            for f in fixes:
                data = f(data)
            return data

        return mapped(frames, fix)

    def completion(self, payload: bytes) -> bytes:
        if self.reasoning is not None:
            payload = self.reasoning[1](payload)
        return normalise_completion(payload) if self.normalise else payload


async def mapped(agen: Frames, fix: Fix) -> Frames:
    """``agen``'s items through ``fix``; closing this closes ``agen`` (the upstream)."""
    try:
        async for item in agen:
            yield fix(item)
    finally:
        await agen.aclose()
