"""OpenAI chat-completions wire format: ``custom``, ``openai`` and ``dashscope``.

The request passes through as the client sent it (only ``model`` rewritten, plus
the provider's request shaping); answers are relayed unchanged in shape. The
stream relay decodes SSE only far enough to normalise framing (``data:`` without
a space, ``\\r\\n``, comments, a missing ``[DONE]``) and to catch error events.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
from django.conf import settings

from chat.sse import SSEDecoder

from ..http import session_for, timeout_for
from . import errors
from .base import DONE_FRAME, Adapter, ModelListing, UpstreamError

log = logging.getLogger("gateway.upstream")


def shape_request(body: dict[str, Any], config_settings: dict[str, Any]) -> dict[str, Any]:
    """Apply a provider's request shaping: drop listed parameters, then add the
    provider's extra body parameters where the client did not set them."""
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
        query = config.setting("extra_query") or {}
        suffix = ("?" + urlencode(query)) if query else ""
        self.chat_url = f"{config.base_url}/chat/completions{suffix}"
        self.models_url = f"{config.base_url}/models{suffix}"
        headers = {"Content-Type": "application/json"}
        headers.update(config.extra_headers)
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        self.headers = headers
        self.stream_headers = {**headers, "Accept": "text/event-stream"}
        self.timeout = timeout_for(
            config, default_connect=settings.GATEWAY_CONNECT_TIMEOUT, default_read=settings.GATEWAY_READ_TIMEOUT
        )
        self._models_cache: tuple[float, ModelListing] | None = None

    def prepare(self, body: dict[str, Any], *, stream: bool) -> bytes:
        return json.dumps(shape_request(body, self.config.settings), ensure_ascii=False).encode()

    async def complete(self, body: dict[str, Any]) -> bytes:
        data = self.prepare(body, stream=False)
        session = session_for(self.config)
        try:
            async with session.post(self.chat_url, data=data, headers=self.headers, timeout=self.timeout) as resp:
                payload = await resp.read()
                if resp.status >= 400:
                    raise errors.from_http_error(self.config.name, resp.status, payload, resp.headers)
        except UpstreamError:
            raise
        except Exception as exc:
            raise errors.from_transport(self.config.name, exc) from None
        errors.check_json_body(self.config.name, payload)
        return payload

    async def stream(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        data = self.prepare(body, stream=True)
        session = session_for(self.config)
        name = self.config.name
        try:
            resp = await session.post(self.chat_url, data=data, headers=self.stream_headers, timeout=self.timeout)
        except Exception as exc:
            raise errors.from_transport(name, exc) from None
        finished = False
        try:
            if resp.status >= 400:
                payload = await _read_quietly(resp)
                raise errors.from_http_error(name, resp.status, payload, resp.headers)
            ctype = resp.headers.get("Content-Type", "")
            if "text/event-stream" not in ctype and "application/json" in ctype:
                # Some servers ignore stream=true or answer an error as JSON with 200.
                payload = await resp.read()
                raise errors.from_json_instead_of_stream(name, payload)
            decoder = SSEDecoder()
            saw_event = False
            try:
                async for chunk in resp.content.iter_any():
                    events = decoder.feed(chunk)
                    if not events:
                        continue
                    out = []
                    for event in events:
                        if event.data == b"[DONE]":
                            if out:
                                yield b"".join(out)
                            finished = True
                            yield DONE_FRAME
                            return
                        errors.raise_if_stream_error(name, event)
                        out.append(b"data: " + event.data + b"\n\n")
                        saw_event = True
                    yield b"".join(out)
            except UpstreamError:
                raise
            except Exception as exc:
                raise errors.from_transport(name, exc, mid_stream=True) from None
            tail = decoder.flush()
            out = []
            for event in tail:
                if event.data == b"[DONE]":
                    break
                errors.raise_if_stream_error(name, event)
                out.append(b"data: " + event.data + b"\n\n")
                saw_event = True
            if out:
                yield b"".join(out)
            if not saw_event:
                raise UpstreamError(
                    "The upstream closed the stream without sending any event.",
                    status=502,
                    code="upstream_empty_stream",
                    cause="empty stream",
                )
            # The upstream ended at EOF without [DONE]: end the client's stream properly.
            log.info("provider=%s cause=%s", name, "stream ended without [DONE]")
            finished = True
            yield DONE_FRAME
        finally:
            if finished:
                resp.release()
            else:
                # Client went away or something failed: drop the connection so the
                # upstream stops generating at once.
                resp.close()

    async def fetch_models_raw(self) -> tuple[int, Any]:
        session = session_for(self.config)
        timeout = aiohttp.ClientTimeout(
            total=15.0,
            sock_connect=float(self.config.setting("connect_timeout", settings.GATEWAY_CONNECT_TIMEOUT)),
        )
        try:
            async with session.get(self.models_url, headers=self.headers, timeout=timeout) as resp:
                payload = await resp.read()
                status = resp.status
        except Exception as exc:
            raise errors.from_transport(self.config.name, exc) from None
        try:
            return status, json.loads(payload)
        except ValueError:
            return status, None

    async def list_models(self) -> ModelListing:
        cached = self._models_cache
        now = time.monotonic()
        if cached and now - cached[0] < settings.GATEWAY_MODELS_CACHE_SECONDS:
            return cached[1]
        try:
            status, raw = await self.fetch_models_raw()
        except UpstreamError as exc:
            log.warning("provider=%s models unavailable: %s", self.config.name, exc.cause)
            return self.configured_models()
        entries = normalise_model_list(raw, self.config.name, self.config.created) if status < 400 else None
        if entries is None:
            listing = self.configured_models()
        else:
            listing = ModelListing(models=entries, source="upstream", raw=raw)
        self._models_cache = (now, listing)
        return listing


def normalise_model_list(raw: Any, owner: str, created: int) -> list[dict[str, Any]] | None:
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
    out: list[dict[str, Any]] = []
    for item in items:
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


async def _read_quietly(resp: aiohttp.ClientResponse) -> bytes:
    try:
        return await resp.content.read(64 * 1024)
    except Exception:
        return b""


class DashScopeAdapter(OpenAICompatAdapter):
    """DashScope's OpenAI-compatible mode. It rejects non-streaming calls with
    thinking on, so those get ``enable_thinking: false`` unless the client set it."""

    def prepare(self, body: dict[str, Any], *, stream: bool) -> bytes:
        if not stream and "enable_thinking" not in body:
            body = {**body, "enable_thinking": False}
        return super().prepare(body, stream=stream)
