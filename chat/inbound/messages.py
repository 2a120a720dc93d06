"""``POST /v1/messages`` and ``/v1/messages/count_tokens``: the Anthropic Messages
API for any provider. An adapter that speaks it natively (``native_messages``)
gets the request untranslated; every other one is called through chat
completions, translated both ways (``messages_translate``, ``messages_stream``).
A route's targets are tried in turn before the first byte (``chat.fallback``, as
for chat completions), each in its own wire: a failing ``custom`` target may hand
the request to an ``anthropic`` one, which gets it untranslated. Errors are in
Anthropic's shape."""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import wraps

from django.utils.translation import gettext as _

from providers.adapters.base import Frames, UpstreamError

from .. import fallback, gateway, limits
from ..gateway import GatewayError
from . import common
from .messages_stream import MessagesStream, encode, error_event
from .messages_translate import MessagesInputError, estimate_input_tokens, to_chat_request, to_message

# The statuses and error types of Anthropic's errors page. What the gateway or a
# backend answers is said as the Anthropic API would say it, so Anthropic clients
# (Claude Code, the SDKs) react as they do to the real API: 529 is "overloaded,
# retry later", 500 a server error, 504 a timeout.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
ANTHROPIC_STATUS = {
    422: 400,  # a request the backend could not process
    502: 500,  # the backend failed or answered something unusable
    503: 529,  # the backend, or the gateway itself (bodies in flight), is overloaded
}
ANTHROPIC_TYPES = frozenset(ERROR_TYPES.values())


def anthropic_status(status: int, upstream_status: int | None = None) -> int:
    if status == 502 and upstream_status in (503, 529):
        return 529  # the backend said it is overloaded
    return ANTHROPIC_STATUS.get(status, status)


def error_type(status: int) -> str:
    """The Anthropic error type of an (already mapped) status."""
    return ERROR_TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")


def anthropic_error(exc: GatewayError) -> common.Answer:
    status = anthropic_status(exc.status, exc.upstream_status)
    answer = common.Answer.json({"type": "error", "error": {"type": error_type(status), "message": exc.message}},
                                status, exc.headers)
    answer.error = exc  # for the request log
    return answer


def _stream_error_type(etype: object) -> str:
    return etype if isinstance(etype, str) and etype in ANTHROPIC_TYPES else "api_error"


def _error_frame(exc: UpstreamError) -> bytes:
    return encode([error_event(error_type(anthropic_status(exc.status, exc.upstream_status)), exc.message)])


async def _answer(incoming: common.Incoming, prepared: gateway.Prepared) -> common.Answer:
    """Each attempt (``chat.fallback``: a route's targets in turn) sends a backend that
    speaks Messages the request untouched, any other one its chat completions
    translation; the answer is read in the wire of the target that gave it. The
    guarded adapter applies the provider's concurrency cap, retries and token
    accounting to the native passthrough as to chat completions."""
    beta = incoming.beta
    if prepared.stream:
        def start(attempt: gateway.Prepared) -> Frames:
            if attempt.adapter.native_messages:
                return attempt.adapter.messages_native_stream(attempt.body, beta=beta)
            return attempt.adapter.stream(to_chat_request(attempt.body))

        first, rest = await gateway.open_stream(prepared, start)
        if prepared.adapter.native_messages:
            return common.Answer.sse(common.relay_native(first, rest, prepared, _error_frame))
        state = MessagesStream(prepared.requested or "", error_type=_stream_error_type)
        return common.Answer.sse(common.translated(common.relay_chat(first, rest, prepared), state, encode))

    async def call(attempt: gateway.Prepared) -> bytes:
        if attempt.adapter.native_messages:
            return await attempt.adapter.messages_native(attempt.body, beta=beta)
        return await attempt.adapter.complete(to_chat_request(attempt.body))

    payload = await fallback.complete(prepared, call)
    if prepared.adapter.native_messages:
        return common.Answer(200, common.native(prepared, payload))
    return common.Answer.json(to_message(json.loads(payload), prepared.requested or ""))


def anthropic_surface(
    handler: Callable[[common.Incoming], Awaitable[common.Answer]],
) -> Callable[[common.Incoming], Awaitable[common.Answer]]:
    """A POST-only surface answering every error in Anthropic's shape."""

    @wraps(handler)
    async def serve(incoming: common.Incoming) -> common.Answer:
        if incoming.method != "POST":
            return common.method_not_allowed(anthropic_error)
        try:
            return await handler(incoming)
        except MessagesInputError as exc:
            return anthropic_error(GatewayError(400, exc.message, param=exc.param))
        except GatewayError as exc:
            return anthropic_error(exc)
        except UpstreamError as exc:
            return anthropic_error(GatewayError.from_upstream(exc))

    return serve


@anthropic_surface
async def serve_messages(incoming: common.Incoming) -> common.Answer:
    return await _answer(incoming, await common.route(incoming, gateway.parse_body))


@anthropic_surface
async def serve_count_tokens(incoming: common.Incoming) -> common.Answer:
    """Exact from a provider that counts (``native_messages``); otherwise an estimate,
    marked so in the body (``"estimated": true``) and the ``X-Gateway-Token-Count`` header."""
    prepared = await common.route(incoming, gateway.parse_body)
    if prepared.adapter.native_messages:
        # Under the provider's cap and retries; counting generates no tokens.
        payload = await prepared.adapter.count_message_tokens(prepared.body, beta=incoming.beta)
        return common.Answer(200, payload, headers={"X-Gateway-Token-Count": "exact"})
    await limits.settle(prepared.reservation, 0)  # an estimate uses no tokens either
    return common.Answer.json({"input_tokens": estimate_input_tokens(prepared.body), "estimated": True},
                              headers={"X-Gateway-Token-Count": "estimate"})


async def serve_unknown(incoming: common.Incoming) -> common.Answer:
    """Other ``/v1/messages/...`` paths (batches...): after the key, a 404 in Anthropic's shape."""
    try:
        await gateway.authenticate(incoming.authorization)
    except GatewayError as exc:
        return anthropic_error(exc)
    return anthropic_error(GatewayError(
        404, _("Unknown endpoint: %(method)s %(path)s.") % {"method": incoming.method, "path": incoming.path}))


messages = common.django_view(serve_messages, "messages")
count_tokens = common.django_view(serve_count_tokens, "count_tokens")
unknown = common.django_view(serve_unknown, "other")
