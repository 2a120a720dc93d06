"""``POST /v1/responses``: the OpenAI Responses API (stateless) for any provider.
An adapter that speaks it natively (``native_responses``, the ``codex`` type)
gets the request untranslated; every other one is called through chat
completions, translated both ways (``responses_translate``, ``responses_stream``).
A route's targets are tried in turn before the first byte (``chat.fallback``, as
for chat completions), each in its own wire. Errors are OpenAI-shaped."""
from __future__ import annotations

import json

from django.utils.translation import gettext as _

from providers.adapters.base import Frames, UpstreamError

from .. import fallback, gateway
from ..gateway import GatewayError
from . import common
from .chunk_machine import dumps
from .responses_stream import ResponsesStream, encode
from .responses_translate import ResponsesInputError, hosted_tools, refuse_stored_state, to_chat_request, to_response


def _error_frame(exc: UpstreamError) -> bytes:
    error = {"type": "error", "code": exc.code or exc.type, "message": exc.message, "param": exc.param}
    return b"event: error\ndata: " + dumps(error) + b"\n\n"


def _start(attempt: gateway.Prepared) -> Frames:
    if attempt.adapter.native_responses:
        return attempt.adapter.responses_native_stream(attempt.body)
    return attempt.adapter.stream(to_chat_request(attempt.body))


async def _call(attempt: gateway.Prepared) -> bytes:
    if attempt.adapter.native_responses:
        return await attempt.adapter.responses_native(attempt.body)
    return await attempt.adapter.complete(to_chat_request(attempt.body))


async def _answer(prepared: gateway.Prepared) -> common.Answer:
    """Each attempt (``chat.fallback``: a route's targets in turn) sends a backend that
    speaks Responses the request untouched, any other one its chat completions
    translation (``_start``, ``_call``); the answer is read in the wire of the target
    that gave it. The guarded adapter applies the provider's cap, retries and accounting."""
    requested = prepared.requested or ""
    if prepared.stream:
        first, rest = await gateway.open_stream(prepared, _start)
        if prepared.adapter.native_responses:
            return common.Answer.sse(common.relay_native(first, rest, prepared, _error_frame))
        state = ResponsesStream(prepared.body, requested)
        answer = common.Answer.sse(common.translated(common.relay_chat(first, rest, prepared), state, encode))
    else:
        payload = await fallback.complete(prepared, _call)
        if prepared.adapter.native_responses:
            return common.Answer(200, common.native(prepared, payload))
        answer = common.Answer.json(to_response(json.loads(payload), prepared.body, requested))
    dropped = hosted_tools(prepared.body)
    if dropped:
        answer.headers["X-Gateway-Dropped-Tools"] = ", ".join(dropped)
    return answer


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


@common.openai_surface
async def serve_responses(incoming: common.Incoming) -> common.Answer:
    try:
        return await _answer(await common.route(incoming, _stateless))
    except ResponsesInputError as exc:
        raise _input_error(exc) from None


responses = common.django_view(serve_responses, "responses")
