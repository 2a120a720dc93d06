"""Where requests enter and leave: the request log's hooks for both doors.

- ``logged(surface)`` wraps a Django /v1 view: starts the record, makes it the
  task's ``requestlog.CURRENT`` (authentication, routing and limits fill it in),
  and finishes it with the response; a streamed response is finished when its
  last byte went out, or when the client left.
- ``note_gateway_error`` / ``finish_sent`` / ``counted`` are what the raw ASGI fast
  path calls around its own sends.

What an error response was made from travels on it as ``response.gateway_error``
(chat/views.py ``error_response``), so the record keeps the error code and the
untranslated cause rather than parsing the body.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase

from . import requestlog
from .models import Outcome
from .requestlog import CLIENT_CLOSED, RequestRecord

View = Callable[..., Coroutine[Any, Any, HttpResponseBase]]

SURFACES = {
    "/v1/chat/completions": "chat",
    "/v1/models": "models",
    "/v1/messages": "messages",
    "/v1/messages/count_tokens": "count_tokens",
    "/v1/responses": "responses",
    "/v1/embeddings": "embeddings",
}


def surface_for(path: str) -> str:
    """The log's ``surface`` of a /v1 path."""
    surface = SURFACES.get(path)
    if surface is None:
        return "models" if path.startswith("/v1/models/") else "other"
    return surface


def start_django(request: HttpRequest, surface: str) -> RequestRecord:
    meta = request.META
    return requestlog.start(surface, method=request.method or "", path=request.path,
                            peer=meta.get("REMOTE_ADDR"), forwarded=meta.get("HTTP_X_FORWARDED_FOR"))


def note_gateway_error(record: RequestRecord, exc: Any, status: int | None = None) -> None:
    """Record a ``GatewayError`` (its ``origin`` says whether a limit, an upstream or the
    gateway itself answered) about to be sent."""
    origin = getattr(exc, "origin", "gateway")
    outcome = None
    if origin == "limit":
        outcome = Outcome.LIMITED
    elif origin == "upstream":
        outcome = Outcome.UPSTREAM_ERROR
    record.note_error(status or exc.status, exc.code, getattr(exc, "cause", "") or exc.message, outcome=outcome)


def finish_response(record: RequestRecord, response: HttpResponseBase) -> HttpResponseBase:
    error = getattr(response, "gateway_error", None)
    if error is not None:
        note_gateway_error(record, error, response.status_code)
    record.status = response.status_code
    if response.streaming:
        response.streaming_content = counted(response.streaming_content, record)  # type: ignore[attr-defined]
        return response
    content = response.content if isinstance(response, HttpResponse) else b""
    finish_sent(record, content)
    return response


def finish_sent(record: RequestRecord, body: bytes) -> None:
    """A whole (non-streamed) answer went out: its size, usage and body, then the end."""
    record.note_first_byte()
    record.note_sent(body)
    if record.status < 400 and record.tokens_in is None:
        record.note_usage(requestlog.usage_from_json(body))
    record.finish()


async def counted(parts: AsyncIterator[bytes], record: RequestRecord) -> AsyncIterator[bytes]:
    """A streamed body passed on, its bytes counted; the record ends with it."""
    complete = False
    try:
        async for part in parts:
            if record.ttft_ms is None:
                record.note_first_byte()
            record.note_sent(part)
            yield part
        complete = True
    finally:
        if not complete:
            client_left(record)
        record.finish()


def client_left(record: RequestRecord) -> None:
    """The client went away: before the answer began (499) or during a stream."""
    status = record.status if record.status and record.ttft_ms is not None else CLIENT_CLOSED
    record.note_error(status, "client_disconnected", "the client closed the connection", outcome=Outcome.DISCONNECTED)


def logged(surface: str) -> Callable[[View], View]:
    """Record every request the Django view serves (see the module docstring)."""

    def decorate(view: View) -> View:
        @wraps(view)
        async def logged_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            record = start_django(request, surface)
            token = requestlog.CURRENT.set(record)
            try:
                response = await view(request, *args, **kwargs)
            except asyncio.CancelledError:
                client_left(record)
                record.finish()
                raise
            except BaseException:
                record.note_error(500, "internal_error", "the view raised an exception",
                                  outcome=Outcome.GATEWAY_ERROR)
                record.finish()
                raise
            finally:
                requestlog.CURRENT.reset(token)
            return finish_response(record, response)

        return logged_view

    return decorate
