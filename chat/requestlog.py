"""The in-process request record: started at each /v1 door, finished exactly once.

Contract (stable; the metrics and usage code build on it):

- ``start(surface, ...)`` makes a ``RequestRecord`` and calls every listener with
  ``("start", record)``; the door fills the record as the request goes on
  (``note_key``, ``note_route``, ``note_first_byte``, ``note_usage``, ``note_error``...);
- ``record.finish(status)`` sets the latency and the outcome, calls every
  listener with ``("finish", record)`` and queues the record for the database
  (chat/requestlog_writer.py writes the queue in batches, off the event loop).
  A second ``finish`` does nothing, so a door may call it from ``finally``.
- ``LISTENERS``: callables ``listener(event, record)``, ``event`` being
  ``"start"`` or ``"finish"``. They run on the event loop inside the request:
  they must be cheap and must not block; an exception in one is logged (once per
  listener) and never reaches the request. A third event, ``"stream"``, comes
  when the first byte of a streamed answer goes out (``note_first_byte`` with
  ``stream`` set), so a listener can follow streams in flight; listeners ignore
  events they do not know.

A record is written to the queue, never to the database, on the request path;
the queue is bounded (``GATEWAY_REQUEST_LOG_QUEUE``): past it, records are
dropped and counted (``dropped()``), and the writer logs the count once per
interval. Times: ``started`` is wall-clock (``time.time()``), durations are
measured with ``time.perf_counter()``.
"""
from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

from .models import Outcome

log = logging.getLogger("gateway.requestlog")

Event = Literal["start", "finish"]
Listener = Callable[[str, "RequestRecord"], None]

LISTENERS: list[Listener] = []

# The record of the request the current task serves, set by the door that started it,
# so that code deep in a request (authentication, routing, limits) can fill it in
# without every signature carrying it. Streams carry their record explicitly: their
# frames may be produced in another task.
CURRENT: ContextVar[RequestRecord | None] = ContextVar("gateway_request_record", default=None)

# Gateway-made error codes that mean "refused by a limit" (chat/limits.py).
LIMIT_CODES = frozenset({"rate_limit_exceeded", "quota_exceeded", "concurrency_limit_exceeded", "server_busy",
                         "too_many_bodies"})
# The status recorded for a client that left before any answer (nginx's convention).
CLIENT_CLOSED = 499


@dataclass(slots=True, eq=False)
class RequestRecord:
    """One /v1 request while it runs. Mutable, owned by the task serving it."""

    surface: str
    method: str = ""
    path: str = ""
    peer: str | None = None  # the TCP peer; ``forwarded`` is resolved against trusted proxies at write time
    forwarded: str | None = None
    started: float = 0.0
    t0: float = 0.0
    request_id: str = ""
    key_id: int | None = None
    key_name: str = ""
    provider_name: str = ""
    provider_type: str = ""
    requested_model: str = ""
    upstream_model: str = ""
    route: str = ""
    attempts: int | None = None
    stream: bool = False
    status: int = 0
    outcome: str = ""
    error_code: str = ""
    error_cause: str = ""
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    tokens_reasoning: int | None = None
    retries: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    capture: bool = False  # the key records bodies
    request_body: bytes | None = None
    response_body: bytearray | None = None
    finished: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # for listeners' own bookkeeping

    # -- filled by the doors --------------------------------------------------

    def note_key(self, key: Any) -> None:
        """``key``: a ``routing.KeyInfo`` (id, name, record_bodies)."""
        self.key_id = key.id
        self.key_name = key.name
        self.capture = bool(getattr(key, "record_bodies", False))

    def note_route(self, config: Any, requested: Any, upstream: str) -> None:
        """The provider (a ``ProviderConfig``) and models chosen for the request."""
        self.provider_name = config.name
        self.provider_type = config.provider_type
        if isinstance(requested, str):
            self.requested_model = requested
        self.upstream_model = upstream
        if self.capture:  # its secrets are masked in the bodies kept (chat/requestlog_writer.py)
            self.extra["provider_config"] = config

    def note_request_body(self, raw: bytes) -> None:
        self.bytes_in = len(raw)
        if self.capture:
            self.request_body = raw

    def note_first_byte(self) -> None:
        """The first byte of the answer's body is about to go out (TTFT)."""
        if self.ttft_ms is None:
            self.ttft_ms = (time.perf_counter() - self.t0) * 1000.0
            if self.stream and LISTENERS:
                _notify("stream", self)  # a streamed answer starts: streams in flight (chat/metrics.py)

    def note_sent(self, data: bytes) -> None:
        """Bytes of the answer's body handed to the server."""
        self.bytes_out += len(data)
        if self.capture:
            if self.response_body is None:
                self.response_body = bytearray()
            if len(self.response_body) < _capture_cap():
                self.response_body += data[: _capture_cap() - len(self.response_body)]

    def note_usage(self, usage: Any) -> None:
        """A ``usage`` object of any surface (chat completions, Messages, Responses)."""
        if not isinstance(usage, dict):
            return
        tokens_in = _count(usage.get("prompt_tokens", usage.get("input_tokens")))
        tokens_out = _count(usage.get("completion_tokens", usage.get("output_tokens")))
        details = usage.get("completion_tokens_details") or usage.get("output_tokens_details")
        reasoning = _count(details.get("reasoning_tokens")) if isinstance(details, dict) else None
        if tokens_in is not None:
            self.tokens_in = tokens_in
        if tokens_out is not None:
            self.tokens_out = tokens_out
        if reasoning is not None:
            self.tokens_reasoning = reasoning

    def note_error(self, status: int, code: str | None, cause: str | None, *, outcome: str | None = None) -> None:
        """An error answered (or ended a stream): ``cause`` must already be secret-free."""
        self.status = status
        self.error_code = (code or "")[:64]
        self.error_cause = (cause or "")[:500]
        self.outcome = outcome or classify(status, code)

    # -- the end ---------------------------------------------------------------

    def finish(self, status: int | None = None, *, outcome: str | None = None) -> None:
        """End the record once: latency, outcome, listeners, the write queue."""
        if self.finished:
            return
        self.finished = True
        self.latency_ms = (time.perf_counter() - self.t0) * 1000.0
        if status is not None:
            self.status = status
        if not self.status:  # ended before any answer: the client left (or the server stopped)
            self.status = CLIENT_CLOSED
            self.error_code = self.error_code or "client_disconnected"
        if outcome is not None:
            self.outcome = outcome
        elif not self.outcome:
            self.outcome = classify(self.status, self.error_code)
        _notify("finish", self)
        enqueue(self)


def classify(status: int, code: str | None = None) -> str:
    """The outcome of an answer with this status and error code."""
    if status == CLIENT_CLOSED:
        return Outcome.DISCONNECTED
    if status < 400:
        return Outcome.OK
    if code in LIMIT_CODES:
        return Outcome.LIMITED
    if status >= 500 or (code and code.startswith("upstream")):
        return Outcome.GATEWAY_ERROR if code in {"internal_error", "gateway_error"} else Outcome.UPSTREAM_ERROR
    return Outcome.CLIENT_ERROR


def usage_from_json(payload: bytes) -> Any:
    """The top-level ``usage`` of a JSON answer (any surface), without parsing the
    whole answer: the last ``"usage"`` member (inside a JSON string every quote is
    escaped, so the bytes ``"usage"`` can only be a member name)."""
    pos = payload.rfind(b'"usage"')
    if pos == -1:
        return None
    colon = payload.find(b":", pos + 7)
    try:
        value, _end = _decoder.raw_decode(payload[colon + 1:].lstrip().decode("utf-8", errors="replace"))
    except ValueError:
        return None
    return value


_decoder = json.JSONDecoder()


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _capture_cap() -> int:
    return _config.capture_bytes


def start(surface: str, *, method: str = "", path: str = "", peer: str | None = None,
          forwarded: str | None = None) -> RequestRecord:
    """A new record for a request that just reached a door; listeners see ``start``."""
    record = RequestRecord(surface, method, path, peer, forwarded, time.time(), time.perf_counter(),
                           os.urandom(16).hex())
    if LISTENERS:
        _notify("start", record)
    return record


_failed_listeners: set[int] = set()


def _notify(event: str, record: RequestRecord) -> None:
    for listener in LISTENERS:
        try:
            listener(event, record)
        except Exception:
            if id(listener) not in _failed_listeners:
                _failed_listeners.add(id(listener))
                log.exception("request log listener %r failed (logged once)", listener)


# The queue -----------------------------------------------------------------------


class _Config:
    """Settings read once (and again by ``configure`` in tests)."""

    __slots__ = ("capture_bytes", "enabled", "limit")

    def __init__(self) -> None:
        from django.conf import settings

        self.enabled = bool(getattr(settings, "GATEWAY_REQUEST_LOG", True))
        self.limit = int(getattr(settings, "GATEWAY_REQUEST_LOG_QUEUE", 10000))
        self.capture_bytes = int(getattr(settings, "GATEWAY_REQUEST_LOG_BODY_BYTES", 32768))


_config = _Config()
QUEUE: deque[RequestRecord] = deque()
_dropped = 0
_wake: Callable[[], None] | None = None


def configure() -> None:
    """Read the settings again (tests change them)."""
    global _config
    _config = _Config()


def enqueue(record: RequestRecord) -> None:
    global _dropped
    if not _config.enabled:
        return
    if len(QUEUE) >= _config.limit:
        _dropped += 1
        return
    QUEUE.append(record)
    if _wake is not None:
        _wake()


def dropped() -> int:
    """Records dropped since the process started because the queue was full."""
    return _dropped


def set_waker(wake: Callable[[], None] | None) -> None:
    """The writer's hook: called (cheaply) after each queued record."""
    global _wake
    _wake = wake
