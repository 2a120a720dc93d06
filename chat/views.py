"""The OpenAI-compatible /v1 surface: plain async Django views, no DRF, no ORM
on the request path (the routing table is in memory)."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from providers.adapters.base import UpstreamError
from providers.routing import KeyInfo, Snapshot

from . import bodies, gateway
from .gateway import GatewayError
from .requestlog_doors import View, logged

log = logging.getLogger("gateway.chat")

SSE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


def error_response(exc: GatewayError) -> JsonResponse:
    response = JsonResponse(exc.body(), status=exc.status)
    for name, value in exc.headers.items():
        response[name] = value
    response.gateway_error = exc  # type: ignore[attr-defined]  # for the request log (chat/requestlog_doors.py)
    return response


def _method_not_allowed(allowed: str) -> JsonResponse:
    response = error_response(
        GatewayError(405, _("Method not allowed. Use %(method)s.") % {"method": allowed}, code="method_not_allowed")
    )
    response["Allow"] = allowed
    return response


def _refused_body(request: HttpRequest) -> JsonResponse | None:
    """The answer chat/fastpath.py decided for a body it would not receive (408, 413, 503)."""
    refused = getattr(request, "scope", {}).get("gateway.body_refused")
    return error_response(refused.error()) if refused is not None else None


async def _admitted(request: HttpRequest, method: str | None) -> tuple[Snapshot, KeyInfo] | JsonResponse:
    """The caller's gateway key (with the routing table it was found in), or the answer that
    refuses the request: a method other than ``method``, no valid key (checked from the
    headers, before the body is touched), or a body the fast path would not receive."""
    if method is not None and request.method != method:
        return _method_not_allowed(method)
    try:
        admitted = await gateway.authenticate(request.headers.get("Authorization"))
    except GatewayError as exc:
        return error_response(exc)
    return _refused_body(request) or admitted


def _door(surface: str, method: str | None) -> Callable[[View], View]:
    """A /v1 view: no CSRF check (clients send keys, not cookies), recorded in the request
    log as ``surface``, and called only for a request ``_admitted`` lets in, with the
    routing table and the caller's key after the request."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @logged(surface)
        @wraps(view)
        async def door(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            admitted = await _admitted(request, method)
            if isinstance(admitted, JsonResponse):
                return admitted
            return await view(request, *admitted, *args, **kwargs)

        return door

    return decorate


@_door("chat", "POST")
async def chat_completions(request: HttpRequest, snap: Snapshot, key: KeyInfo) -> HttpResponseBase:
    length = request.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > settings.GATEWAY_MAX_BODY_BYTES:
        return error_response(bodies.too_large())
    try:
        raw = request.body
    except Exception:  # RequestDataTooBig and friends  # noqa: BLE001
        return error_response(bodies.too_large())
    try:
        prepared = await gateway.prepare_chat(snap, key, raw)
        if prepared.stream:
            frames = await gateway.start_stream(prepared)
            response = StreamingHttpResponse(frames, content_type="text/event-stream")
            for name, value in SSE_HEADERS.items():
                response[name] = value
            return response
        payload = await gateway.complete(prepared)
    except GatewayError as exc:
        return error_response(exc)
    except UpstreamError as exc:
        return error_response(GatewayError.from_upstream(exc))
    return HttpResponse(payload, content_type="application/json")


@_door("models", "GET")
async def models(request: HttpRequest, snap: Snapshot, key: KeyInfo) -> HttpResponse:
    return JsonResponse(await gateway.list_models(snap, key))


@_door("models", "GET")
async def model_detail(request: HttpRequest, snap: Snapshot, key: KeyInfo, model: str) -> HttpResponse:
    try:
        return JsonResponse(await gateway.retrieve_model(snap, key, model))
    except GatewayError as exc:
        return error_response(exc)


@_door("other", None)
async def unknown_endpoint(request: HttpRequest, snap: Snapshot, key: KeyInfo, rest: str) -> HttpResponse:
    """Any other /v1 path: authentication first (never reveal the surface to
    strangers), then a 404 in the OpenAI error shape."""
    return error_response(
        GatewayError(
            404,
            _("Unknown endpoint: %(method)s %(path)s.") % {"method": request.method, "path": request.path},
            code="unknown_url",
        )
    )


async def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse(json.dumps({"status": "ok"}), content_type="application/json")


