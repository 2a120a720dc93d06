"""What the inbound surfaces (/v1/messages, /v1/responses, /v1/embeddings) share
with chat completions: reading the body, the gateway key (also as ``x-api-key``),
model resolution and rate limits, by calling ``chat.gateway`` and ``chat.limits``."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from providers.adapters.base import Adapter, Frames, ProviderConfig, UpstreamError
from providers.redact import redact

from .. import gateway, limits, requestlog
from ..gateway import GatewayError
from ..requestlog import RequestRecord
from ..requestlog_doors import logged
from ..stream_usage import MARK, UsageWatch
from ..views import SSE_HEADERS, _method_not_allowed, error_response

log = logging.getLogger("gateway.chat")


def authorization(request: HttpRequest) -> str | None:
    """``Authorization``, or the Anthropic clients' ``x-api-key`` as a Bearer value."""
    return gateway.credential(request.headers.get("Authorization"), request.headers.get("x-api-key"))


def read_body(request: HttpRequest) -> bytes:
    length = request.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > settings.GATEWAY_MAX_BODY_BYTES:
        raise GatewayError(413, _("The request body is too large."), code="request_too_large")
    try:
        return request.body
    except Exception:  # RequestDataTooBig and friends  # noqa: BLE001
        raise GatewayError(413, _("The request body is too large."), code="request_too_large") from None


def parse_object(raw: bytes) -> dict[str, Any]:
    """A JSON object body (``gateway.parse_body`` is the chat-specific one)."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise GatewayError(400, _("The request body is not valid JSON."), code="invalid_json") from None
    if not isinstance(body, dict):
        raise GatewayError(400, _("The request body must be a JSON object."), code="invalid_body")
    return body


@dataclass
class Routed:
    """A request after the key checks, resolution and rate limits. ``adapter`` is
    the provider's own adapter (native passthroughs call it); ``guarded`` adds the
    concurrency cap, retries and token accounting for chat completions calls."""

    config: ProviderConfig
    adapter: Adapter
    guarded: Adapter
    body: dict[str, Any]
    requested: str
    key: Any
    reservation: limits.Reservation | None = None
    record: RequestRecord | None = None  # the request log's (chat/requestlog.py)


def reserved_tokens(raw: bytes, body: dict[str, Any]) -> int:
    """What an inbound request is expected to use, reserved at admission: its size at
    about four bytes a token, plus the answer's cap as the surface names it."""
    cap = next((body[name] for name in ("max_tokens", "max_output_tokens", "max_completion_tokens")
                if isinstance(body.get(name), int) and not isinstance(body.get(name), bool) and body[name] >= 0),
               settings.GATEWAY_RATE_LIMIT_DEFAULT_COMPLETION_TOKENS)
    return limits.estimate_tokens(len(raw)) + int(cap)


async def route(request: HttpRequest, parse: Callable[[bytes], dict[str, Any]] = parse_object) -> Routed:
    # The key first, from the headers; the body only after it (chat/fastpath.py received
    # it under the same bounds as chat completions, or recorded why it would not).
    snap, key = await gateway.authenticate(authorization(request))
    refused = getattr(request, "scope", {}).get("gateway.body_refused")
    if refused is not None:
        raise refused.error()
    raw = read_body(request)
    record = requestlog.CURRENT.get()
    if record is not None:
        record.note_request_body(raw)
    body = parse(raw)
    requested = body.get("model")
    if record is not None:
        record.stream = body.get("stream") is True
        if isinstance(requested, str):
            record.requested_model = requested
    config, adapter, upstream = gateway.resolve(snap, key, requested)
    if record is not None:
        record.note_route(config, requested, upstream)
    reservation = await limits.admit(key, reserved_tokens(raw, body) if limits.limits_for(key)[1] else 0)
    body["model"] = upstream
    return Routed(config=config, adapter=adapter, guarded=limits.guard(adapter, key, len(raw), reservation, record),
                  body=body, requested=str(requested), key=key, reservation=reservation, record=record)


def sse_response(frames: Frames) -> StreamingHttpResponse:
    response = StreamingHttpResponse(frames, content_type="text/event-stream")
    for name, value in SSE_HEADERS.items():
        response[name] = value
    return response


async def first_frame(agen: Frames) -> bytes:
    """Wait for a stream's first frame, so a failure before it gets a real HTTP status."""
    try:
        return await agen.__anext__()
    except StopAsyncIteration:
        raise GatewayError(502, _("The upstream closed the stream without data."), type="upstream_error",
                           code="upstream_empty_stream") from None
    except BaseException:
        await agen.aclose()
        raise


async def translated(frames: Frames, state: Any, encode: Callable[[list[Any]], bytes]) -> Frames:
    """Chat completion frames (made safe by ``gateway.relay``) through a ``ChunkMachine``, encoded."""
    try:
        async for data in frames:
            events = state.feed(data)
            if events:
                yield encode(events)
            if state.done:
                return
        yield encode(state.close())
    finally:
        await frames.aclose()


def native(routed: Routed, payload: bytes) -> bytes:
    """A backend's own non-streamed answer, with the model id the client used."""
    rewrite = gateway.model_rewriter(routed.requested)
    return rewrite(payload) if rewrite is not None else payload


async def relay_native(first: bytes, rest: Frames, routed: Routed,
                       error_frame: Callable[[UpstreamError], bytes]) -> Frames:
    """A backend's own stream relayed as is, but for the model id the client used
    (``gateway.model_rewriter``); a failure after it started ends it with
    ``error_frame`` (after a blank line, in case the failure cut an event short)."""
    provider = routed.config.name
    rewrite = gateway.model_rewriter(routed.requested)
    lines = _WholeLines()
    record = routed.record
    watch = UsageWatch(record, False) if record is not None else None

    def pass_on(chunk: bytes) -> bytes:
        if rewrite is None and watch is None:
            return chunk
        chunk = lines.feed(chunk)
        if watch is not None and MARK in chunk:
            watch.feed(chunk)
        return chunk if rewrite is None else rewrite(chunk)

    try:
        if data := pass_on(first):
            yield data
        async for chunk in rest:
            if data := pass_on(chunk):
                yield data
        if data := lines.rest():
            if watch is not None and MARK in data:
                watch.feed(data)
            yield rewrite(data) if rewrite is not None else data
    except UpstreamError as exc:
        log.warning("provider=%s native stream ended with error: %s", provider, exc.cause)
        exc.message = redact(exc.message)
        if record is not None:
            record.note_error(200, exc.code or "upstream_error", redact(exc.cause), outcome="upstream_error")
        yield lines.rest() + b"\n\n" + error_frame(exc)
    finally:
        await rest.aclose()


class _WholeLines:
    """A native stream's reads are not aligned with its events, and a ``"model"``
    member cut between two reads would escape the rewrite: the partial last line
    of a read waits for the next one (up to a bound, past which it goes as is)."""

    LIMIT = 1024 * 1024

    def __init__(self) -> None:
        self.held = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self.held + chunk if self.held else chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) < self.LIMIT:
            self.held = data
            return b""
        if cut == 0:
            cut = len(data)
        self.held = data[cut:]
        return data[:cut]

    def rest(self) -> bytes:
        held, self.held = self.held, b""
        return held


def openai_post_view(surface: str) -> Callable[[Callable[[HttpRequest], Any]], Callable[[HttpRequest], Any]]:
    """A POST-only /v1 view answering the gateway's and upstreams' errors in the OpenAI
    shape, recorded in the request log under ``surface``."""
    return lambda handler: _openai_post_view(handler, surface)


def _openai_post_view(handler: Callable[[HttpRequest], Any], surface: str) -> Callable[[HttpRequest], Any]:
    @csrf_exempt
    @logged(surface)
    @wraps(handler)
    async def view(request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return _method_not_allowed("POST")
        try:
            return await handler(request)
        except GatewayError as exc:
            return error_response(exc)
        except UpstreamError as exc:
            return error_response(GatewayError.from_upstream(exc))

    return view
