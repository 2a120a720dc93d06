"""The adapter contract: how the /v1 surface talks to one wire format.

An adapter is built once per provider configuration (``ProviderConfig``) and
reused by every request in the process until that provider changes. It speaks
OpenAI chat completions to the gateway on one side and its backend's wire format
on the other. Translation of payloads is kept in pure functions beside the
adapter, so it can be tested without a network.
"""
from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, TypedDict, cast

from ..provider_config import ProviderConfig

__all__ = ["DONE_FRAME", "Adapter", "Frames", "ModelEntry", "ModelListing", "OpenAIError", "OpenAIShapedError",
           "ProviderConfig", "UpstreamError"]

DONE_FRAME = b"data: [DONE]\n\n"

# What a streaming method returns: an async generator of ready SSE frames. A
# generator (not any async iterator) because the caller must be able to close it
# (``aclose()``) when the client goes away, which closes the upstream at once.
Frames = AsyncGenerator[bytes, None]


class OpenAIError(TypedDict):
    message: str
    type: str
    param: str | None
    code: str | None


class ModelEntry(TypedDict, total=False):
    id: str
    object: str
    created: int
    owned_by: str


@dataclass
class ModelListing:
    """Models a backend offers. ``source`` says where the list came from:
    ``upstream`` (the backend reported it) or ``configured`` (its settings)."""

    models: list[ModelEntry]
    source: str = "upstream"
    raw: Any = None  # what the backend answered, for the staff passthrough endpoint


class OpenAIShapedError(Exception):
    """An error answered in the OpenAI shape ``{"error": {message, type, param, code}}``.

    The one place that builds that body: ``UpstreamError`` (a backend's failure)
    and ``chat.gateway.GatewayError`` (the gateway's own refusals) both are one."""

    # Members beyond OpenAI's four (a quota refusal's ``quota`` and ``resets_at``); SDKs ignore them.
    extra: dict[str, Any] = {}

    def __init__(self, message: str, *, status: int, type: str, code: str | None = None, param: str | None = None,
                 cause: str = "", upstream_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.cause = cause  # untranslated and secret-free, for logs and the request log
        self.upstream_status = upstream_status  # the backend's own HTTP status, when it answered one

    def body(self) -> dict[str, OpenAIError]:
        error: OpenAIError = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        if self.extra:
            error = cast(OpenAIError, {**error, **self.extra})
        return {"error": error}


class UpstreamError(OpenAIShapedError):
    """A failure to be shown to the client as an OpenAI-shaped error.

    ``status`` is the HTTP status the gateway answers with before a stream has
    started; once a stream is under way the same error becomes a final SSE event.
    ``cause`` is a short, secret-free description for logs.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 502,
        type: str = "upstream_error",
        code: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
        cause: str = "",
        retryable: bool = False,
        upstream_status: int | None = None,
    ) -> None:
        super().__init__(message, status=status, type=type, code=code, param=param, cause=cause or message,
                         upstream_status=upstream_status)
        self.retry_after = retry_after
        self.retryable = retryable

    def sse_frame(self) -> bytes:
        return b"data: " + json.dumps(self.body(), ensure_ascii=False).encode() + b"\n\n"


class Adapter:
    """Base class of every wire-format adapter.

    Subclasses implement:

    - ``complete(body)``: a non-streaming chat completion. ``body`` is the client's
      OpenAI request with ``model`` already set to the upstream model id. Returns
      the ``chat.completion`` JSON as bytes.
    - ``stream(body)``: a streaming chat completion, as an async iterator of ready
      SSE frames (``b"data: {chat.completion.chunk}\\n\\n"``, several may come in
      one item) ending with ``DONE_FRAME``. It must relay each upstream event as
      soon as it arrives, and close its upstream (connection or child process)
      when the iterator is closed early (client disconnect).
    - ``list_models()``: a ``ModelListing``. The base class lists the provider's
      configured models; a backend with a listing of its own overrides it.

    Declared here with defaults, so callers never probe with ``getattr``:

    - ``auth_headers(config)``: the headers that carry the API key on this wire
      (the adapter's requests and the connection test use the same ones).
    - ``fetch_models_raw()``: the backend's own listing as it answered, for the
      staff endpoint that shows it; ``None`` when the type has none.

    All three raise ``UpstreamError`` for failures. Before the first frame the
    gateway answers with the error's status; after it, with a final error event.
    """

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    async def complete(self, body: dict[str, Any]) -> bytes:
        raise NotImplementedError

    def stream(self, body: dict[str, Any]) -> Frames:
        raise NotImplementedError

    @classmethod
    def auth_headers(cls, config: ProviderConfig) -> dict[str, str]:
        """The headers that carry ``config``'s API key ({} without one): a bearer token by default."""
        return {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}

    def concurrency(self) -> tuple[int | None, float]:
        """(cap, wait): at most ``cap`` requests to this provider at once in this
        process (None: no cap), and how many seconds one more waits for a slot
        before its 429. The gateway's one limiter (``chat/limits.py``) applies it.
        By default: the ``max_concurrency`` setting, and no wait."""
        cap = self.config.setting("max_concurrency")
        return (int(cap) if cap else None), 0.0

    async def list_models(self) -> ModelListing:
        return self.configured_models()

    async def fetch_models_raw(self) -> tuple[int, Any] | None:
        """(HTTP status, parsed JSON) of the backend's own listing, as it answered;
        ``None`` for a type that lists its configured models."""
        listing = await self.list_models()
        return (200, listing.raw) if listing.source == "upstream" else None

    def configured_models(self) -> ModelListing:
        names = self.config.setting("models") or []
        return ModelListing(
            models=[{"id": n, "object": "model", "created": self.config.created,
                     "owned_by": self.config.name} for n in names],
            source="configured",
            raw=None,
        )

    # -- optional capabilities of the inbound surfaces (issue 17) ---------------------
    # An adapter whose backend speaks a surface's wire itself says so, and the
    # surface passes the client's request through untranslated. ``body`` has
    # ``model`` set to the upstream model id; the answer is the backend's, as bytes.

    native_messages = False  # the Anthropic Messages API: /v1/messages, /v1/messages/count_tokens
    native_responses = False  # the OpenAI Responses API: /v1/responses
    embeddings = False  # OpenAI /embeddings

    async def messages_native(self, body: dict[str, Any], *, beta: str | None = None) -> bytes:
        raise NotImplementedError

    def messages_native_stream(self, body: dict[str, Any], *, beta: str | None = None) -> Frames:
        """Raw Messages SSE bytes, relayed as they arrive."""
        raise NotImplementedError

    async def count_message_tokens(self, body: dict[str, Any], *, beta: str | None = None) -> bytes:
        raise NotImplementedError

    async def responses_native(self, body: dict[str, Any]) -> bytes:
        raise NotImplementedError

    def responses_native_stream(self, body: dict[str, Any]) -> Frames:
        raise NotImplementedError

    async def embed(self, body: dict[str, Any]) -> bytes:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release long-lived resources (pooled agents); called when the provider changes."""
        return None
