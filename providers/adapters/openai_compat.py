"""OpenAI chat-completions wire format: ``custom``, ``openai`` and ``dashscope``.

The request passes through as the client sent it (only ``model`` rewritten, plus
the provider's request shaping); answers are relayed unchanged in shape. The
stream relay decodes SSE only far enough to normalise framing (``data:`` without
a space, ``\\r\\n``, comments, a missing ``[DONE]``) and to catch error events.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from providers.transport.sse import ServerSentEvent, SSEDecoder

from . import errors
from .base import DONE_FRAME, Adapter, Frames, ModelEntry, ModelListing, UpstreamError
from .chat_chunks import frame, wants_usage
from .chunk_shaping import Shaping
from .http_common import (
    CachedModels,
    get_json,
    post_for_body,
    query_suffix,
    read_body,
    request_headers,
    request_timeout,
    streamed,
)

log = logging.getLogger("gateway.upstream")


def shape_request(body: dict[str, Any], config_settings: dict[str, Any]) -> dict[str, Any]:
    """Apply a provider's request shaping: rename listed parameters (``max_tokens``
    to ``max_completion_tokens`` for backends that want it; a value the client set
    under the new name wins), drop listed parameters, then add the provider's extra
    body parameters where the client did not set them."""
    rename = config_settings.get("rename_params") or {}
    if rename and any(k in body for k in rename):
        body = dict(body)
        for old, new in rename.items():
            if old in body:
                value = body.pop(old)
                body.setdefault(new, value)
    drop = config_settings.get("drop_params") or ()
    if drop:
        body = {k: v for k, v in body.items() if k not in drop}
    extra = config_settings.get("extra_body") or {}
    for key, value in extra.items():
        body.setdefault(key, value)
    return body


class OpenAICompatAdapter(Adapter):
    def __init__(self, config: Any) -> None:
        super().__init__(config)
        suffix = query_suffix(config)
        self.chat_url = f"{config.base_url}/chat/completions{suffix}"
        self.models_url = f"{config.base_url}/models{suffix}"
        self.headers = {**request_headers(config, {"Content-Type": "application/json"}), **self.auth_headers(config)}
        self.timeout = request_timeout(config)
        self.shaping = Shaping(config.settings)
        self.models = CachedModels(
            self, self.fetch_models_raw, lambda raw: normalise_model_list(raw, config.name, config.created)
        )

    def prepare(self, body: dict[str, Any], *, stream: bool) -> bytes:
        return json.dumps(shape_request(body, self.config.settings), ensure_ascii=False).encode()

    async def complete(self, body: dict[str, Any]) -> bytes:
        data = self.prepare(body, stream=False)
        payload = await post_for_body(self.config, self.chat_url, data, headers=self.headers, timeout=self.timeout)
        errors.check_json_body(self.config.name, payload)
        return self.shaping.completion(payload) if self.shaping.active else payload

    def stream(self, body: dict[str, Any]) -> Frames:
        return self.shaping.stream(self._relay(body))

    async def _relay(self, body: dict[str, Any]) -> Frames:
        data = self.prepare(body, stream=True)
        name = self.config.name
        async with streamed(self.config, self.chat_url, data, headers=self.headers, timeout=self.timeout) as answer:
            resp = answer.resp
            ctype = resp.headers.get("Content-Type", "")
            if "text/event-stream" not in ctype and "application/json" in ctype:
                # Some servers ignore stream=true (answering a whole completion) or
                # answer an error as JSON with 200.
                payload = await read_body(name, resp)
                frames = completion_as_stream(payload, include_usage=wants_usage(body))
                if frames is None:
                    raise errors.from_json_instead_of_stream(name, payload)
                log.info("provider=%s cause=%s", name, "completion answered to a streaming request")
                answer.finished = True
                yield frames + DONE_FRAME
                return
            decoder = SSEDecoder(settings.GATEWAY_UPSTREAM_MAX_EVENT_BYTES)
            saw_event = False
            received = False
            read = resp.readany
            try:
                while chunk := await read():
                    received = True
                    if passes_through(chunk) and decoder.pristine:
                        # Whole, plain frames: what re-framing would produce, byte for byte.
                        saw_event = True
                        yield chunk
                        continue
                    events = decoder.feed(chunk)
                    if not events:
                        continue
                    out, done, error = _frames(name, events)
                    if out:
                        saw_event = True
                        yield out
                    if error is not None:
                        raise error
                    if done:
                        answer.finished = True
                        yield DONE_FRAME
                        return
            except UpstreamError:
                raise
            except Exception as exc:  # noqa: BLE001 -- every failure becomes an UpstreamError
                raise errors.from_transport(name, exc, mid_stream=True) from None
            out, done, error = _frames(name, decoder.flush())
            if out:
                saw_event = True
                yield out
            if error is not None:
                raise error
            if not saw_event and not done and received:
                raise errors.bad_answer(
                    name, _("The upstream's answer to a streaming request was not an event stream."),
                    cause="not an event stream")
            if not saw_event and not done:
                raise errors.bad_answer(name, _("The upstream closed the stream without sending any event."),
                                        code="upstream_empty_stream", cause="empty stream")
            if not done:
                # The upstream ended at EOF without [DONE]: end the client's stream properly.
                log.info("provider=%s cause=%s", name, "stream ended without [DONE]")
            answer.finished = True
            yield DONE_FRAME

    async def fetch_models_raw(self) -> tuple[int, Any]:
        """(HTTP status, parsed JSON or None) of the backend's ``/models``, as reported."""
        return await get_json(self.config, self.models_url, headers=self.headers)

    async def list_models(self) -> ModelListing:
        return await self.models.get()

    # -- /v1/embeddings (issue 17): an OpenAI-compatible backend serves /embeddings itself --

    embeddings = True

    async def embed(self, body: dict[str, Any]) -> bytes:
        """The backend's ``/embeddings`` answer, relayed as is (no chat request shaping)."""
        url = f"{self.config.base_url}/embeddings{query_suffix(self.config)}"
        data = json.dumps(body, ensure_ascii=False).encode()
        payload = await post_for_body(self.config, url, data, headers=self.headers, timeout=self.timeout)
        errors.check_json_body(self.config.name, payload)
        return payload


def completion_as_stream(payload: bytes, *, include_usage: bool) -> bytes | None:
    """Re-frame a whole ``chat.completion`` (from a server that ignored
    ``stream: true``) as the chunks a streaming server would have sent: per
    choice, its message as one delta, then its finish reason; then the usage
    chunk if the client asked for it. None if ``payload`` is not a completion."""
    try:
        completion = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(completion, dict) or not isinstance(completion.get("choices"), list) or completion.get("error"):
        return None
    head: dict[str, Any] = {
        "id": completion.get("id", ""),
        "object": "chat.completion.chunk",
        "created": completion.get("created", 0),
        "model": completion.get("model", ""),
    }
    if "system_fingerprint" in completion:
        head["system_fingerprint"] = completion["system_fingerprint"]
    chunks: list[dict[str, Any]] = []
    for position, choice in enumerate(completion["choices"]):
        if not isinstance(choice, dict):
            return None
        index = choice.get("index", position)
        given = choice.get("message")
        message = given if isinstance(given, dict) else {}
        delta = {k: v for k, v in message.items() if v is not None}
        if isinstance(delta.get("tool_calls"), list):
            delta["tool_calls"] = [
                {"index": i, **call} if isinstance(call, dict) else call for i, call in enumerate(delta["tool_calls"])
            ]
        chunks.append({**head, "choices": [{"index": index, "delta": delta, "logprobs": choice.get("logprobs"),
                                             "finish_reason": None}]})
        chunks.append({**head, "choices": [{"index": index, "delta": {}, "logprobs": None,
                                             "finish_reason": choice.get("finish_reason")}]})
    if include_usage and completion.get("usage") is not None:
        chunks.append({**head, "choices": [], "usage": completion["usage"]})
    return b"".join(frame(c) for c in chunks)


def passes_through(chunk: bytes) -> bool:
    """Whether ``chunk`` is nothing but whole ``data: {...}\n\n`` frames (one data
    line each, exactly one space, no ``\r``, no comments or other fields, no
    ``"error"`` anywhere). Such a chunk needs no decoding: re-framing its events
    gives the same bytes, and none of them can be an error event, ``[DONE]`` or
    malformed. Byte counts only, no per-line work (the common case of the relay)."""
    if not chunk.startswith(b"data: {") or not chunk.endswith(b"}\n\n") or b"\r" in chunk or b'"error"' in chunk:
        return False
    frames = chunk.count(b"\n\n")
    # Every newline is in a frame's closing pair, and every pair but the last is
    # followed by the next frame's ``data: {`` and preceded by ``}``.
    return chunk.count(b"\n") == 2 * frames and (frames == 1 or chunk.count(b"}\n\ndata: {") == frames - 1)


def _frames(provider: str, events: list[ServerSentEvent]) -> tuple[bytes, bool, UpstreamError | None]:
    """Frame decoded events for the client: (frames, saw [DONE], error).

    Events before an error event or ``[DONE]`` are kept, so a client always gets
    every chunk the upstream sent before the stream failed or ended."""
    out: list[bytes] = []
    for event in events:
        if event.data == b"[DONE]":
            return b"".join(out), True, None
        try:
            errors.raise_if_stream_error(provider, event)
        except UpstreamError as exc:
            return b"".join(out), False, exc
        out.append(b"data: " + event.data + b"\n\n")
    return b"".join(out), False, None


def normalise_model_list(raw: Any, owner: str, created: int) -> list[ModelEntry] | None:
    """Accept ``{"data": [...]}``, a bare array, or ``{"models": [...]}``, with entries
    as objects or plain ids; return OpenAI model objects, or None if unusable."""
    if isinstance(raw, dict):
        items = raw.get("data")
        if items is None:
            items = raw.get("models")
    else:
        items = raw
    if not isinstance(items, list):
        return None
    out: list[ModelEntry] = []
    for item in items:
        model_id: Any
        if isinstance(item, str):
            model_id = item
        elif isinstance(item, dict):
            model_id = item.get("id") or item.get("name") or item.get("model")
        else:
            continue
        if not isinstance(model_id, str) or not model_id:
            continue
        model_created = item.get("created") if isinstance(item, dict) else None
        out.append(
            {
                "id": model_id,
                "object": "model",
                "created": model_created if isinstance(model_created, int) else created,
                "owned_by": owner,
            }
        )
    return out


class DashScopeAdapter(OpenAICompatAdapter):
    """DashScope's OpenAI-compatible mode. It rejects non-streaming calls with
    thinking on, so those get ``enable_thinking: false`` unless the client set it."""

    def prepare(self, body: dict[str, Any], *, stream: bool) -> bytes:
        if not stream and "enable_thinking" not in body:
            body = {**body, "enable_thinking": False}
        return super().prepare(body, stream=stream)
