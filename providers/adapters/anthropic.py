"""The Anthropic Messages API (``anthropic`` provider type).

``POST {base_url}/messages`` with ``x-api-key`` and ``anthropic-version`` (setting
``anthropic_version``); payloads are translated by ``anthropic_translate``. The
stream is translated event by event as it arrives. Models come from
``GET {base_url}/models``, following ``has_more``/``last_id`` pages.

Settings: ``default_max_tokens`` (the Messages API requires ``max_tokens``; used
when the client sends neither ``max_tokens`` nor ``max_completion_tokens``) and
the common HTTP settings (timeouts, TLS, proxy, ``extra_body``, ``drop_params``).
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from providers.transport.sse import SSEDecoder

from . import errors
from .anthropic_translate import (
    StreamError,
    StreamTranslator,
    TranslationError,
    model_entry,
    to_completion,
    to_messages_request,
)
from .base import DONE_FRAME, Adapter, Frames, ModelListing, ProviderConfig, UpstreamError
from .chat_chunks import frame, wants_usage
from .http_common import CachedModels, get_json, post_for_body, read_body, request_headers, request_timeout, streamed
from .openai_compat import shape_request
from .passthrough import relay_stream

log = logging.getLogger("gateway.upstream")

MAX_MODEL_PAGES = 20

# Anthropic error types that a 200 stream may carry, with the status they stand for.
_STREAM_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
}


class AnthropicAdapter(Adapter):
    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.messages_url = f"{config.base_url}/messages"
        self.models_url = f"{config.base_url}/models"
        self.headers = {**request_headers(config, {"Content-Type": "application/json"}), **self.auth_headers(config)}
        self.timeout = request_timeout(config)
        self.models = CachedModels(self, self.fetch_models_raw, self._model_entries)

    @classmethod
    def auth_headers(cls, config: ProviderConfig) -> dict[str, str]:
        """``x-api-key`` (not a bearer token), with the ``anthropic-version`` the wire requires."""
        headers = {"anthropic-version": str(config.setting("anthropic_version", "2023-06-01"))}
        if config.api_key:
            headers["x-api-key"] = config.api_key
        return headers

    def prepare(self, body: dict[str, Any], *, stream: bool) -> bytes:
        try:
            request = to_messages_request(
                body, default_max_tokens=int(self.config.setting("default_max_tokens", 4096)), stream=stream
            )
        except TranslationError as exc:
            raise UpstreamError(exc.message, status=400, type="invalid_request_error", code="invalid_request",
                                param=exc.param, cause="untranslatable request") from None
        return json.dumps(shape_request(request, self.config.settings), ensure_ascii=False).encode()

    async def complete(self, body: dict[str, Any]) -> bytes:
        data = self.prepare(body, stream=False)
        payload = await post_for_body(self.config, self.messages_url, data, headers=self.headers, timeout=self.timeout)
        try:
            message = json.loads(payload)
        except ValueError:
            message = None
        if isinstance(message, dict) and message.get("type") == "error":
            error = message.get("error") or {}
            log.warning("provider=%s cause=error object in a 200 answer", self.config.name)
            raise UpstreamError(str(error.get("message") or _("The upstream reported an error.")), status=502,
                                type=str(error.get("type") or "upstream_error"), cause="error object in a 200 answer")
        if not isinstance(message, dict) or "content" not in message:
            log.warning("provider=%s cause=invalid JSON answer", self.config.name)
            raise UpstreamError(_("The upstream answered with something that is not a Messages API answer."),
                                status=502, code="upstream_invalid_response", cause="invalid answer")
        completion = to_completion(message, created=int(time.time()))
        return json.dumps(completion, ensure_ascii=False).encode()

    async def stream(self, body: dict[str, Any]) -> Frames:
        data = self.prepare(body, stream=True)
        name = self.config.name
        async with streamed(self.config, self.messages_url, data, headers=self.headers,
                            timeout=self.timeout) as answer:
            resp = answer.resp
            if "text/event-stream" not in resp.headers.get("Content-Type", ""):
                raise errors.from_json_instead_of_stream(name, await read_body(name, resp))
            translator = StreamTranslator(body.get("model") or "", include_usage=wants_usage(body),
                                          created=int(time.time()))
            decoder = SSEDecoder(settings.GATEWAY_UPSTREAM_MAX_EVENT_BYTES)
            try:
                async for raw in resp.iter_any():
                    out: list[bytes] = []
                    for event in decoder.feed(raw):
                        try:
                            chunks = self._translate(translator, event)
                        except UpstreamError:
                            if out:  # what came before the failure still goes out, in order
                                yield b"".join(out)
                            raise
                        out.extend(frame(c) for c in chunks)
                        if translator.done:
                            out.extend(frame(c) for c in translator.final_chunks())
                            out.append(DONE_FRAME)
                            answer.finished = True
                            yield b"".join(out)
                            return
                    if out:
                        yield b"".join(out)
            except UpstreamError:
                raise
            except Exception as exc:  # noqa: BLE001 -- every failure becomes an UpstreamError
                raise errors.from_transport(name, exc, mid_stream=True) from None
            for event in decoder.flush():
                chunks = self._translate(translator, event)
                if chunks:
                    yield b"".join(frame(c) for c in chunks)
                if translator.done:
                    answer.finished = True
                    yield b"".join(frame(c) for c in translator.final_chunks()) + DONE_FRAME
                    return
            raise errors.bad_answer(name, _("The upstream closed the stream before the answer was complete."),
                                    code="upstream_incomplete_stream", cause="stream ended before message_stop")

    def _translate(self, translator: StreamTranslator, event: Any) -> list[dict[str, Any]]:
        try:
            parsed = json.loads(event.data)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise errors.bad_answer(self.config.name, _("The upstream sent a malformed stream event."),
                                    cause="malformed stream event")
        if event.event == "error" and parsed.get("type") != "error":
            parsed = {"type": "error", "error": parsed.get("error") or parsed}
        try:
            return translator.feed(parsed)
        except StreamError as exc:
            log.warning("provider=%s cause=error event in stream (%s)", self.config.name, exc.etype)
            raise UpstreamError(
                exc.message or _("The upstream reported an error in the stream."),
                status=_STREAM_ERROR_STATUS.get(exc.etype, 502),
                type=exc.etype, code=exc.etype, cause="error event in stream",
                retryable=exc.etype in ("overloaded_error", "rate_limit_error", "api_error"),
            ) from None

    # -- native passthrough for the inbound /v1/messages surface (issue 17) ----------

    native_messages = True

    def _native(self, body: dict[str, Any], beta: str | None) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if beta:
            headers["anthropic-beta"] = beta
        return json.dumps(shape_request(body, self.config.settings), ensure_ascii=False).encode(), headers

    async def messages_native(self, body: dict[str, Any], *, beta: str | None = None) -> bytes:
        data, headers = self._native(body, beta)
        return await post_for_body(self.config, self.messages_url, data, headers=headers, timeout=self.timeout)

    async def count_message_tokens(self, body: dict[str, Any], *, beta: str | None = None) -> bytes:
        data, headers = self._native(body, beta)
        return await post_for_body(self.config, f"{self.messages_url}/count_tokens", data, headers=headers,
                                   timeout=self.timeout)

    def messages_native_stream(self, body: dict[str, Any], *, beta: str | None = None) -> Frames:
        data, headers = self._native(body, beta)
        return relay_stream(self.config, self.messages_url, data, headers=headers, timeout=self.timeout)

    async def fetch_models_raw(self) -> tuple[int, Any]:
        """All pages of ``GET /models`` as one ``{"data": [...]}`` (or the first failing answer)."""
        items: list[Any] = []
        after: str | None = None
        for _page in range(MAX_MODEL_PAGES):
            params = {"limit": "1000"}
            if after:
                params["after_id"] = after
            status, page = await get_json(self.config, self.models_url, headers=self.headers, params=params)
            if status >= 400 or not isinstance(page, dict) or not isinstance(page.get("data"), list):
                return status, page
            items.extend(page["data"])
            after = page.get("last_id")
            if not page.get("has_more") or not after:
                break
        return 200, {"data": items, "has_more": False, "first_id": items[0].get("id") if items else None,
                     "last_id": items[-1].get("id") if items else None}

    async def list_models(self) -> ModelListing:
        return await self.models.get()

    def _model_entries(self, raw: Any) -> list[Any] | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("data"), list):
            return None
        entries = (model_entry(item, self.config.name, self.config.created)
                   for item in raw["data"] if isinstance(item, dict))
        return [e for e in entries if e]
