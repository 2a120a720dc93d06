"""Turning upstream failures into OpenAI-shaped ``UpstreamError``s.

Upstream 4xx keep their status and message; 5xx become 502; timeouts 504;
connection failures 502. Messages never carry provider secrets: they come from
the upstream body or from fixed text, never from request headers.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from providers.transport.sse import EventTooLarge, ServerSentEvent

from ..transport import errors as transport
from ..transport.client import ERROR_BODY_LIMIT, Response
from .base import UpstreamError

log = logging.getLogger("gateway.upstream")

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def _message_from(payload: Any) -> tuple[str | None, str | None, str | None, str | None]:
    """(message, type, code, param) from any of the error shapes seen in the wild."""
    if isinstance(payload, dict):
        err = payload.get("error", payload)
        if isinstance(err, str):
            return err, None, None, None
        if isinstance(err, dict):
            message = err.get("message") or err.get("msg") or err.get("detail") or err.get("error")
            if isinstance(message, (dict, list)):
                message = json.dumps(message, ensure_ascii=False)
            code = err.get("code")
            return (
                str(message) if message is not None else None,
                err.get("type") if isinstance(err.get("type"), str) else None,
                str(code) if code is not None else None,
                err.get("param") if isinstance(err.get("param"), str) else None,
            )
        detail = payload.get("detail") or payload.get("message")
        if detail is not None:
            return str(detail), None, None, None
    if isinstance(payload, list) and payload:
        return _message_from(payload[0])
    return None, None, None, None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def from_http_error(provider: str, status: int, payload: bytes, headers: Mapping[str, str]) -> UpstreamError:
    try:
        parsed: Any = json.loads(payload) if payload else None
    except ValueError:
        parsed = None
    message, etype, code, param = _message_from(parsed)
    if message is None:
        text = payload.decode("utf-8", "replace").strip()[:500]
        message = text or f"HTTP {status}"
    if status >= 500:
        client_status = 502
        etype = "upstream_error"
        message = _("Upstream error (HTTP %(status)s): %(message)s") % {"status": status, "message": message}
    else:
        client_status = status if 400 <= status < 500 else 502
        etype = etype or _TYPES.get(status, "invalid_request_error")
    retry_after = _retry_after(headers)
    log.warning("provider=%s cause=http_%s", provider, status)
    return UpstreamError(
        message,
        status=client_status,
        type=etype,
        code=code,
        param=param,
        retry_after=retry_after,
        cause=f"HTTP {status}",
        retryable=status == 429 or status >= 500,
        upstream_status=status,
    )


async def read_error_body(resp: Response) -> bytes:
    """The first ``ERROR_BODY_LIMIT`` bytes of an error answer's body (nobody needs
    more of an error; the caller closes the answer); empty if even that cannot be read."""
    parts: list[bytes] = []
    size = 0
    try:
        while size < ERROR_BODY_LIMIT and (piece := await resp.readany()):
            parts.append(piece)
            size += len(piece)
    except Exception:  # noqa: BLE001 -- an unreadable error body is an empty one
        return b""
    return b"".join(parts)[:ERROR_BODY_LIMIT]


def redirected(provider: str, status: int, headers: Mapping[str, str]) -> UpstreamError:
    """A redirect answered to a chat request: never followed (the request carries the
    provider's credentials); the operator should point the base URL at the new place."""
    log.warning("provider=%s cause=redirect (HTTP %s)", provider, status)
    return UpstreamError(
        _("The upstream answered with a redirect (HTTP %(status)s); check the provider's base URL.")
        % {"status": status},
        status=502,
        type="upstream_error",
        code="upstream_redirect",
        cause=f"redirect (HTTP {status})",
    )


def bad_answer(provider: str, message: str, *, code: str = "upstream_invalid_response", cause: str) -> UpstreamError:
    """A 502 for an answer the gateway cannot use (not JSON, not a stream, cut short), its
    cause logged once, here."""
    log.warning("provider=%s cause=%s", provider, cause)
    return UpstreamError(message, code=code, cause=cause)


def _limit_message(provider: str, what: str, limit: int) -> str:
    params = {"provider": provider, "limit": limit}
    if what == "head":
        return _("Provider “%(provider)s” answered with a response head over the gateway's limit "
                 "(%(limit)s bytes per line or too many header lines).") % params
    if what == "event":
        return _("Provider “%(provider)s” sent a stream event over the gateway's limit of %(limit)s bytes.") % params
    if what == "decoded_body":
        return _("Provider “%(provider)s” sent a compressed answer that decodes to more than the gateway's "
                 "limit of %(limit)s bytes.") % params
    return _("Provider “%(provider)s” sent an answer over the gateway's limit of %(limit)s bytes.") % params


def _timeout_message(provider: str, kind: str) -> str:
    if kind == "head":
        return _("Provider “%(provider)s” did not send a complete response head in time.") % {"provider": provider}
    if kind == "first_byte":
        return _("Provider “%(provider)s” did not start its answer in time.") % {"provider": provider}
    return _("Provider “%(provider)s” did not send the next part of its answer in time.") % {"provider": provider}


def from_transport(provider: str, exc: BaseException, *, mid_stream: bool = False) -> UpstreamError:
    """The ``UpstreamError`` for a failure of the exchange (logged once, here).
    Only a failure to connect is retryable: once the request may have reached the
    upstream it is never sent again (a second, billable generation)."""
    if isinstance(exc, transport.LimitExceeded) or isinstance(exc, EventTooLarge):
        what, limit = (exc.what, exc.limit) if isinstance(exc, transport.LimitExceeded) else ("event", exc.limit)
        err = UpstreamError(_limit_message(provider, what, limit), status=502, type="upstream_error",
                            code="upstream_response_too_large", cause=f"{what} over {limit}")
    elif isinstance(exc, transport.ReadTimeout):
        err = UpstreamError(_timeout_message(provider, exc.kind), status=504, type="timeout_error",
                            code="upstream_timeout",
                            cause="read timeout" if exc.kind == "idle" else f"timeout ({exc.kind.replace('_', ' ')})")
    elif isinstance(exc, transport.ConnectTimeout):
        err = UpstreamError(_("The upstream did not answer in time."), status=504, type="timeout_error",
                            code="upstream_timeout", cause="connect timeout", retryable=True)
    elif isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        err = UpstreamError(
            _("The upstream did not answer in time."), status=504, type="timeout_error", code="upstream_timeout",
            cause="read timeout" if mid_stream else "timeout",
        )
    # The rest are answered 502 "upstream_error" (UpstreamError's defaults); each says its code and cause.
    elif isinstance(exc, transport.TLSCertificateError):
        err = UpstreamError(_(
            "The upstream's TLS certificate could not be verified. For an internal endpoint with a "
            "self-signed certificate, set the provider's “ca_bundle” setting (or “verify_tls”: false)."
        ), code="upstream_tls_error", cause="TLS certificate verification failed")
    elif isinstance(exc, transport.TLSError):
        err = UpstreamError(_("The TLS handshake with the upstream failed."), code="upstream_tls_error",
                            cause=f"TLS handshake failed: {type(exc).__name__}")
    elif isinstance(exc, transport.ProxyError):
        err = UpstreamError(_("The HTTP proxy in front of the upstream could not be reached."),
                            code="upstream_unreachable", cause="proxy connect failed", retryable=True)
    elif isinstance(exc, transport.ConnectError):
        err = UpstreamError(_("The upstream could not be reached."), code="upstream_unreachable",
                            cause=f"connect failed: {type(exc.os_error).__name__ if exc.os_error else exc}",
                            retryable=True)
    elif isinstance(exc, transport.ProtocolError):
        err = UpstreamError(
            _("Provider “%(provider)s” sent an answer that is not valid HTTP or cannot be decoded.")
            % {"provider": provider}, code="upstream_invalid_response", cause=f"invalid answer: {exc}"[:200])
    elif isinstance(exc, (transport.Disconnected, ConnectionError, OSError)):
        err = UpstreamError(_("The upstream closed the connection unexpectedly."), code="upstream_disconnected",
                            cause=f"connection lost: {type(exc).__name__}")
    else:
        err = UpstreamError(_("The upstream request failed."), code="upstream_error", cause=f"{type(exc).__name__}")
    log.warning("provider=%s cause=%s%s", provider, err.cause, " (mid-stream)" if mid_stream else "")
    return err


def check_json_body(provider: str, payload: bytes) -> None:
    """A 200 answer must be a JSON object; some servers send an error object with 200."""
    head = payload.lstrip()[:1]
    if head != b"{":
        raise bad_answer(provider, _("The upstream answered with something that is not JSON."),
                         cause="invalid JSON answer")
    if b'"error"' in payload[:200] and b'"choices"' not in payload:
        try:
            parsed = json.loads(payload)
        except ValueError:
            raise UpstreamError(
                _("The upstream answered with invalid JSON."), status=502, code="upstream_invalid_response",
                cause="invalid JSON answer",
            ) from None
        if isinstance(parsed, dict) and parsed.get("error"):
            message, etype, code, param = _message_from(parsed)
            raise UpstreamError(message or _("Upstream error"), status=502, type=etype or "upstream_error", code=code,
                                param=param, cause="error object in a 200 answer")


def _reported(provider: str, parsed: Any, fallback: str, *, code: str | None = None, cause: str) -> UpstreamError:
    """A 502 for an error the upstream reported in an answer it sent with HTTP 200: its own
    message, type, code and param where it gave them (``code`` stands in for a missing or
    empty code); logged with ``cause``."""
    message, etype, reported, param = _message_from(parsed)
    if code is not None:
        reported = reported or code
    log.warning("provider=%s cause=%s", provider, cause)
    return UpstreamError(message or fallback, type=etype or "upstream_error", code=reported, param=param, cause=cause)


def from_json_instead_of_stream(provider: str, payload: bytes) -> UpstreamError:
    try:
        parsed = json.loads(payload)
    except ValueError:
        parsed = None
    return _reported(provider, parsed, _("The upstream answered a streaming request without a stream."),
                     code="upstream_not_streaming", cause="JSON answer to a streaming request")


def raise_if_stream_error(provider: str, event: ServerSentEvent) -> None:
    """Raise for an error event inside a stream that began with HTTP 200; also for
    data that is not JSON (garbage instead of SSE, a truncated event)."""
    data = event.data
    if event.event == "error" or (b'"error"' in data[:64] and b'"choices"' not in data):
        try:
            parsed: Any = json.loads(data)
        except ValueError:
            parsed = {"error": {"message": data.decode("utf-8", "replace")[:500]}}
        if isinstance(parsed, dict) and (parsed.get("error") or event.event == "error"):
            raise _reported(provider, parsed, _("The upstream reported an error in the stream."),
                            cause="error event in stream")
    head = data[:1]
    if head != b"{" or data[-1:] != b"}":
        raise bad_answer(provider, _("The upstream sent a malformed stream event."), cause="malformed stream event")
