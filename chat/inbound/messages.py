"""``POST /v1/messages`` and ``/v1/messages/count_tokens``: the Anthropic Messages
API for any provider. An adapter that speaks it natively (``native_messages``)
gets the request untranslated; every other one is called through chat
completions, translated both ways (``messages_translate``, ``messages_stream``).
Errors are in Anthropic's shape."""
from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from providers.adapters.base import UpstreamError

from .. import gateway
from ..gateway import GatewayError
from ..requestlog_doors import logged
from . import common
from .messages_stream import MessagesStream, encode, error_event
from .messages_translate import MessagesInputError, estimate_input_tokens, to_chat_request, to_message

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
ANTHROPIC_TYPES = frozenset(ERROR_TYPES.values()) | {"api_error"}


def error_type(status: int) -> str:
    return ERROR_TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")


def anthropic_error(exc: GatewayError) -> JsonResponse:
    response = JsonResponse({"type": "error", "error": {"type": error_type(exc.status), "message": exc.message}},
                            status=exc.status)
    for name, value in exc.headers.items():
        response[name] = value
    response.gateway_error = exc  # type: ignore[attr-defined]  # for the request log (chat/requestlog_doors.py)
    return response


def _stream_error_type(etype: object) -> str:
    return etype if isinstance(etype, str) and etype in ANTHROPIC_TYPES else "api_error"


def _error_frame(exc: UpstreamError) -> bytes:
    return encode([error_event(error_type(exc.status), exc.message)])


def _method_not_allowed() -> JsonResponse:
    response = anthropic_error(GatewayError(405, _("Method not allowed. Use %(method)s.") % {"method": "POST"}))
    response["Allow"] = "POST"
    return response


async def _answer(request: HttpRequest, routed: common.Routed) -> HttpResponseBase:
    body, adapter = routed.body, routed.adapter
    beta = request.headers.get("anthropic-beta")
    if adapter.native_messages:
        if body.get("stream"):
            agen = adapter.messages_native_stream(body, beta=beta)
            first = await common.first_frame(agen)
            return common.sse_response(common.relay_native(first, agen, routed, _error_frame))
        return HttpResponse(common.native(routed, await adapter.messages_native(body, beta=beta)),
                            content_type="application/json")
    chat = to_chat_request(body)
    prepared = gateway.Prepared(config=routed.config, adapter=routed.guarded, body=chat,
                                stream=bool(chat.get("stream")), key=routed.key, record=routed.record)
    if prepared.stream:
        state = MessagesStream(routed.requested, error_type=_stream_error_type)
        return common.sse_response(common.translated(await gateway.start_stream(prepared), state, encode))
    completion = json.loads(await routed.guarded.complete(chat))
    return JsonResponse(to_message(completion, routed.requested))


@csrf_exempt
@logged("messages")
async def messages(request: HttpRequest) -> HttpResponseBase:
    if request.method != "POST":
        return _method_not_allowed()
    try:
        routed = await common.route(request, gateway.parse_body)
        return await _answer(request, routed)
    except MessagesInputError as exc:
        return anthropic_error(GatewayError(400, exc.message, param=exc.param))
    except GatewayError as exc:
        return anthropic_error(exc)
    except UpstreamError as exc:
        return anthropic_error(GatewayError.from_upstream(exc))


@csrf_exempt
@logged("count_tokens")
async def count_tokens(request: HttpRequest) -> HttpResponse:
    """Exact from a provider that counts (``native_messages``); otherwise an estimate,
    marked so in the body (``"estimated": true``) and the ``X-Gateway-Token-Count`` header."""
    if request.method != "POST":
        return _method_not_allowed()
    try:
        routed = await common.route(request, gateway.parse_body)
        if routed.adapter.native_messages:
            payload = await routed.adapter.count_message_tokens(routed.body, beta=request.headers.get("anthropic-beta"))
            response = HttpResponse(payload, content_type="application/json")
            response["X-Gateway-Token-Count"] = "exact"
            return response
    except GatewayError as exc:
        return anthropic_error(exc)
    except UpstreamError as exc:
        return anthropic_error(GatewayError.from_upstream(exc))
    response = JsonResponse({"input_tokens": estimate_input_tokens(routed.body), "estimated": True})
    response["X-Gateway-Token-Count"] = "estimate"
    return response
