"""``POST /v1/responses``: the OpenAI Responses API (stateless) for any provider.
An adapter that speaks it natively (``native_responses``, the ``codex`` type)
gets the request untranslated; every other one is called through chat
completions, translated both ways (``responses_translate``, ``responses_stream``).
Errors are OpenAI-shaped."""
from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from providers.adapters.base import UpstreamError

from .. import gateway
from ..gateway import GatewayError
from . import common
from .responses_stream import ResponsesStream, encode
from .responses_translate import ResponsesInputError, hosted_tools, refuse_stored_state, to_chat_request, to_response


def _error_frame(exc: UpstreamError) -> bytes:
    error = {"type": "error", "code": exc.code or exc.type, "message": exc.message, "param": exc.param}
    return b"event: error\ndata: " + json.dumps(error, ensure_ascii=False).encode() + b"\n\n"


async def _answer(routed: common.Routed) -> HttpResponseBase:
    body, adapter = routed.body, routed.adapter
    if adapter.native_responses:
        if body.get("stream"):
            agen = adapter.responses_native_stream(body)
            first = await common.first_frame(agen)
            return common.sse_response(common.relay_native(first, agen, routed, _error_frame))
        return HttpResponse(common.native(routed, await adapter.responses_native(body)),
                            content_type="application/json")
    chat = to_chat_request(body)
    prepared = gateway.Prepared(config=routed.config, adapter=routed.guarded, body=chat,
                                stream=bool(chat.get("stream")), key=routed.key, record=routed.record)
    if prepared.stream:
        state = ResponsesStream(body, routed.requested)
        response: HttpResponseBase = common.sse_response(
            common.translated(await gateway.start_stream(prepared), state, encode))
    else:
        completion = json.loads(await routed.guarded.complete(chat))
        response = JsonResponse(to_response(completion, body, routed.requested))
    dropped = hosted_tools(body)
    if dropped:
        response["X-Gateway-Dropped-Tools"] = ", ".join(dropped)
    return response


def _input_error(exc: ResponsesInputError) -> GatewayError:
    return GatewayError(400, exc.message, param=exc.param, code=exc.code)


def _stateless(raw: bytes) -> dict:
    body = common.parse_object(raw)
    try:
        refuse_stored_state(body)  # before any upstream is chosen, for native providers too
    except ResponsesInputError as exc:
        raise _input_error(exc) from None
    stream = body.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        raise GatewayError(400, _("“stream” must be a boolean."), param="stream", code="invalid_type")
    return body


@common.openai_post_view("responses")
async def responses(request: HttpRequest) -> HttpResponseBase:
    try:
        return await _answer(await common.route(request, _stateless))
    except ResponsesInputError as exc:
        raise _input_error(exc) from None
