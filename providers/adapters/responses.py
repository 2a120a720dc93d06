"""The OpenAI Responses API wire format: the ``codex`` provider type.

``POST {base_url}/responses`` with a bearer token (a ChatGPT OAuth access token
or an OpenAI API key) and, for the ChatGPT backend, the ``ChatGPT-Account-ID``
header from the provider's ``account_id`` setting. The ChatGPT backend only
streams, so every upstream call streams; a non-streaming client request is
served by folding the translated stream into one ``chat.completion``.
Translation lives in ``responses_translate``; this module is transport only.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from providers.transport.sse import SSEDecoder

from . import errors
from .base import Adapter, Frames, ProviderConfig, UpstreamError
from .chat_chunks import ChunkSource, completion_from_chunks, sse_from_chunks, wants_usage
from .http_common import open_stream, query_suffix, read_body, request_headers, request_timeout
from .openai_compat import shape_request
from .passthrough import relay_stream
from .responses_translate import ResponsesStream, error_from, parse_event_data, to_responses_request

log = logging.getLogger("gateway.upstream")


class ResponsesAdapter(Adapter):
    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        self.url = f"{config.base_url}/responses{query_suffix(config)}"
        headers = {**request_headers(config, {"Content-Type": "application/json"}), **self.auth_headers(config)}
        account = config.setting("account_id")
        if account:
            headers["ChatGPT-Account-ID"] = account
        self.headers = headers
        self.timeout = request_timeout(config)

    def prepare(self, body: dict[str, Any]) -> bytes:
        request = shape_request(to_responses_request(body), self.config.settings)
        request["stream"] = True  # whatever the shaping says: the backend only streams
        return json.dumps(request, ensure_ascii=False).encode()

    async def _chunks(self, body: dict[str, Any], *, include_usage: bool) -> ChunkSource:
        """The translated answer, one list of chunk dicts per upstream read."""
        data = self.prepare(body)
        name = self.config.name
        resp = await open_stream(self.config, self.url, data, headers=self.headers, timeout=self.timeout)
        state = ResponsesStream(body.get("model") or "", include_usage=include_usage)
        try:
            ctype = resp.headers.get("Content-Type", "")
            if "text/event-stream" not in ctype and "application/json" in ctype:
                raise errors.from_json_instead_of_stream(name, await read_body(name, resp))
            decoder = SSEDecoder(settings.GATEWAY_UPSTREAM_MAX_EVENT_BYTES)
            try:
                async for raw in resp.iter_any():
                    out: list[dict[str, Any]] = []
                    for event in decoder.feed(raw):
                        if event.data == b"[DONE]":
                            continue
                        out.extend(state.feed(parse_event_data(event.data), event.event))
                    if out:
                        yield out
                    if state.done:
                        return
            except UpstreamError as exc:
                log.warning("provider=%s cause=%s", name, exc.cause)
                raise
            except Exception as exc:  # noqa: BLE001 -- every failure becomes an UpstreamError
                raise errors.from_transport(name, exc, mid_stream=True) from None
            out = []
            for event in decoder.flush():
                if event.data != b"[DONE]":
                    out.extend(state.feed(parse_event_data(event.data), event.event))
            if out:
                yield out
            if not state.done:
                log.warning("provider=%s cause=stream closed before response.completed", name)
            state.end_of_stream()
        finally:
            # Closing (not releasing) drops the connection, so a client that went
            # away stops the upstream generating at once.
            if state.done:
                resp.release()
            else:
                resp.close()

    def stream(self, body: dict[str, Any]) -> Frames:
        return sse_from_chunks(self._chunks(body, include_usage=wants_usage(body)))

    async def complete(self, body: dict[str, Any]) -> bytes:
        return await completion_from_chunks(self._chunks(body, include_usage=True))

    # -- native passthrough for the inbound /v1/responses surface (issue 17) ----------

    native_responses = True

    def responses_native_stream(self, body: dict[str, Any]) -> Frames:
        request = shape_request(body, self.config.settings)
        request["stream"] = True  # the backend only streams
        data = json.dumps(request, ensure_ascii=False).encode()
        return relay_stream(self.config, self.url, data, headers=self.headers, timeout=self.timeout)

    async def responses_native(self, body: dict[str, Any]) -> bytes:
        """The backend only streams: the final ``response`` object of its stream."""
        decoder = SSEDecoder()
        final: Any = None
        agen = self.responses_native_stream(body)
        try:
            async for raw in agen:
                for event in decoder.feed(raw):
                    parsed = parse_event_data(event.data) if event.data != b"[DONE]" else {}
                    if parsed.get("type") in ("response.completed", "response.incomplete", "response.failed"):
                        final = parsed.get("response")
                    elif parsed.get("type") == "error":
                        raise error_from(parsed, cause="error event in stream")
        finally:
            await agen.aclose()
        if not isinstance(final, dict):
            raise UpstreamError(_("The upstream closed the stream before the answer was complete."),
                                code="upstream_incomplete_stream", cause="stream ended before response.completed")
        if final.get("status") == "failed":
            raise error_from(final.get("error") or {}, cause="response.failed")
        return json.dumps(final, ensure_ascii=False).encode()
