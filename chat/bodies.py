"""Receiving /v1 request bodies with bounded memory and time, on both doors
(the ASGI fast path and Django's handler, see chat/fastpath.py).

The caller checks the gateway key from the headers first, so a stranger's body
is never read at all. For a known key the body is received here:

- over ``GATEWAY_MAX_BODY_BYTES``: 413, as soon as ``Content-Length`` says so or
  the bytes received pass it;
- not complete within ``GATEWAY_BODY_TIMEOUT_SECONDS``: 408, connection closed;
- more than ``GATEWAY_MAX_INFLIGHT_BODY_BYTES`` held by bodies being received in
  this worker: 503 with ``Retry-After``. A declared length is reserved before the
  first byte is read, so the refusal comes at once.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from .gateway import GatewayError

_held = 0  # bytes reserved by bodies being received in this worker (one event loop)


def held_bytes() -> int:
    """Bytes currently reserved by bodies in flight (for tests and stats)."""
    return _held


class BodyRefused(Exception):
    """A body that may not be received. ``error()`` builds the answer in the language
    active where it is called (Django's door activates it later than the fast path)."""

    def __init__(self, build: Callable[[], GatewayError]) -> None:
        super().__init__(build.__name__)
        self.error = build


def too_large() -> GatewayError:
    return GatewayError(413, _("The request body is too large."), code="request_too_large")


def _too_slow(seconds: float) -> GatewayError:
    return GatewayError(
        408, _("The request body was not received within %(seconds)s seconds.") % {"seconds": f"{seconds:g}"},
        code="request_timeout", headers={"Connection": "close"},
    )


def _busy() -> GatewayError:
    return GatewayError(
        503, _("The gateway is receiving too many request bodies at once. Retry shortly."), type="server_error",
        code="server_busy", headers={"Retry-After": "1"}, origin="limit",
    )


def declared_length(value: bytes | str | None) -> int | None:
    if value is None:
        return None
    text = value.decode("latin1") if isinstance(value, bytes) else value
    return int(text) if text.isdigit() else None


class Budget:
    """This request's share of the worker's in-flight body bytes; released once."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held = 0

    def grow_to(self, size: int) -> None:
        global _held
        extra = size - self.held
        if extra <= 0:
            return
        if _held + extra > settings.GATEWAY_MAX_INFLIGHT_BODY_BYTES:
            raise BodyRefused(_busy)
        _held += extra
        self.held = size

    def release(self) -> None:
        global _held
        _held -= self.held
        self.held = 0


async def receive_body(receive: Any, length: int | None, budget: Budget) -> bytes | None:
    """The whole body, or None if the client went away; ``BodyRefused`` (408, 413,
    503) when it may not be received. ``budget`` stays held until the caller releases it."""
    limit = settings.GATEWAY_MAX_BODY_BYTES
    if length is not None:
        if length > limit:
            raise BodyRefused(too_large)
        budget.grow_to(length)
    seconds = settings.GATEWAY_BODY_TIMEOUT_SECONDS
    parts: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(seconds):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise BodyRefused(too_large)
                budget.grow_to(size)
                parts.append(chunk)
                if not message.get("more_body"):
                    return parts[0] if len(parts) == 1 else b"".join(parts)
    except TimeoutError:
        raise BodyRefused(lambda: _too_slow(seconds)) from None
