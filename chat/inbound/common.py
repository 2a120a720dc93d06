"""What the inbound surfaces (/v1/messages, /v1/responses, /v1/embeddings) share
with chat completions: reading the body, the gateway key (also as ``x-api-key``),
model resolution and rate limits, by calling ``chat.gateway`` and ``chat.limits``.

Each surface is served by one framework-free function, ``serve(Incoming) ->
Answer``, for both doors: the Django views wrap it (``django_view``) and the raw
ASGI fast path calls it directly, so both answer alike by construction. The
door only says how the body is received (``Incoming.read``, called after the
key was accepted: a stranger's body is never read) and sends the ``Answer``."""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from providers.adapters.base import Frames, UpstreamError
from providers.redact import redact

from .. import gateway, limits, requestlog
from ..gateway import GatewayError
from ..requestlog_doors import logged
from ..stream_usage import MARK, UsageWatch
from ..views import SSE_HEADERS

log = logging.getLogger("gateway.chat")


def authorization(request: HttpRequest) -> str | None:
    """``Authorization``, or the Anthropic clients' ``x-api-key`` as a Bearer value."""
    return gateway.credential(request.headers.get("Authorization"), request.headers.get("x-api-key"))


class ClientGone(Exception):
    """The client went away before its body was received: nothing to answer."""


@dataclass
class Incoming:
    """A request as a surface sees it, from either door. ``read`` receives the body
    (raising ``GatewayError`` for one refused by the bounds, ``ClientGone``); it is
    called only after the key from ``authorization`` was accepted."""

    method: str
    path: str
    authorization: str | None
    read: Callable[[], Awaitable[bytes]]
    beta: str | None = None  # anthropic-beta


@dataclass
class Answer:
    """What a surface answers: a whole body, or SSE ``frames`` relayed as they come."""

    status: int
    body: bytes = b""
    frames: AsyncIterator[bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    error: GatewayError | None = None  # what an error answer was made from, for the request log

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
        # json.dumps' defaults, as Django's JsonResponse has them.
        return cls(status, json.dumps(data).encode(), headers=dict(headers or {}))

    @classmethod
    def sse(cls, frames: AsyncIterator[bytes], headers: dict[str, str] | None = None) -> Answer:
        return cls(200, frames=frames, headers={**SSE_HEADERS, **(headers or {})}, content_type="text/event-stream")


def error_answer(exc: GatewayError) -> Answer:
    """The OpenAI-shaped error of /v1."""
    answer = Answer.json(exc.body(), exc.status, exc.headers)
    answer.error = exc
    return answer


def method_not_allowed(error: Callable[[GatewayError], Answer] = error_answer) -> Answer:
    answer = error(GatewayError(405, _("Method not allowed. Use %(method)s.") % {"method": "POST"},
                                code="method_not_allowed"))
    answer.headers["Allow"] = "POST"
    return answer


def django_incoming(request: HttpRequest) -> Incoming:
    """The Django door: chat/fastpath.py received the body under the same bounds as the
    fast path (or recorded in the scope why it would not) before Django's handler ran."""

    async def read() -> bytes:
        refused = getattr(request, "scope", {}).get("gateway.body_refused")
        if refused is not None:
            raise refused.error()
        return read_body(request)

    return Incoming(method=request.method or "", path=request.path, authorization=authorization(request), read=read,
                    beta=request.headers.get("anthropic-beta"))


def to_django(answer: Answer) -> HttpResponse:
    response: HttpResponse | StreamingHttpResponse
    if answer.frames is not None:
        response = StreamingHttpResponse(answer.frames, status=answer.status, content_type=answer.content_type)
    else:
        response = HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)
    for name, value in answer.headers.items():
        response[name] = value
    if answer.error is not None:
        response.gateway_error = answer.error  # type: ignore[union-attr]  # for the request log
    return response  # type: ignore[return-value]


def django_view(serve: Callable[[Incoming], Awaitable[Answer]], surface: str) -> Callable[[HttpRequest], Any]:
    """The Django door of a surface, recorded in the request log under ``surface``."""

    @csrf_exempt
    @logged(surface)
    @wraps(serve)
    async def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return to_django(await serve(django_incoming(request)))

    return view


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


def reserved_tokens(raw: bytes, body: dict[str, Any]) -> int:
    """What an inbound request is expected to use, reserved at admission: its size at
    about four bytes a token, plus the answer's cap as the surface names it."""
    cap = next((body[name] for name in ("max_tokens", "max_output_tokens", "max_completion_tokens")
                if isinstance(body.get(name), int) and not isinstance(body.get(name), bool) and body[name] >= 0),
               settings.GATEWAY_RATE_LIMIT_DEFAULT_COMPLETION_TOKENS)
    return limits.estimate_tokens(len(raw)) + int(cap)


async def route(incoming: Incoming, parse: Callable[[bytes], dict[str, Any]] = parse_object) -> gateway.Prepared:
    """The key (from the headers), then the body, routed and admitted as chat completions
    are (``gateway.prepare``): ``chat.fallback`` takes it from target to target."""
    snap, key = await gateway.authenticate(incoming.authorization)
    raw = await incoming.read()
    record = requestlog.CURRENT.get()
    if record is not None:
        record.note_request_body(raw)
    body = parse(raw)
    tokens = reserved_tokens(raw, body) if limits.counts_tokens(key) else 0
    return await gateway.prepare(snap, key, body, request_bytes=len(raw), tokens=tokens)


def relay_chat(first: bytes, rest: Frames, prepared: gateway.Prepared) -> Frames:
    """A started chat completions stream made safe for a translation (``gateway.relay``:
    a failure or a revoked key becomes a final error frame, usage is noted; the
    model id is left to the translation, which writes the one the client used)."""
    return gateway.relay(first, rest, prepared.config.name, prepared.key, None, prepared.record)


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


def native(prepared: gateway.Prepared, payload: bytes) -> bytes:
    """A backend's own non-streamed answer, with the model id the client used."""
    rewrite = gateway.model_rewriter(prepared.requested)
    return rewrite(payload) if rewrite is not None else payload


async def relay_native(first: bytes, rest: Frames, prepared: gateway.Prepared,
                       error_frame: Callable[[UpstreamError], bytes]) -> Frames:
    """A backend's own stream relayed as is, but for the model id the client used
    (``gateway.model_rewriter``); a failure after it started ends it with
    ``error_frame`` (after a blank line, in case the failure cut an event short),
    and so do the revocation and the expiry of the key while it is open (as ``gateway.relay``)."""
    provider = prepared.config.name
    rewrite = gateway.model_rewriter(prepared.requested)
    lines = _WholeLines()
    loop = asyncio.get_running_loop()
    next_check = loop.time() + gateway.KEY_CHECK_SECONDS
    record = prepared.record
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
            if loop.time() >= next_check:
                next_check = loop.time() + gateway.KEY_CHECK_SECONDS
                refusal = await gateway.open_stream_refusal(prepared.key)
                if refusal is not None:
                    gateway.end_stream_for_key(prepared.key, provider, refusal, record)
                    yield lines.rest() + b"\n\n" + error_frame(refusal)
                    return
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


def openai_surface(handler: Callable[[Incoming], Awaitable[Answer]]) -> Callable[[Incoming], Awaitable[Answer]]:
    """A POST-only /v1 surface answering the gateway's and upstreams' errors in the OpenAI shape."""

    @wraps(handler)
    async def serve(incoming: Incoming) -> Answer:
        if incoming.method != "POST":
            return method_not_allowed()
        try:
            return await handler(incoming)
        except GatewayError as exc:
            return error_answer(exc)
        except UpstreamError as exc:
            return error_answer(GatewayError.from_upstream(exc))

    return serve
