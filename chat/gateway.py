"""The /v1 request logic, independent of the web framework: authentication,
model resolution, dispatch to an adapter. Views stay thin around it."""
from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from providers import routing
from providers.adapters.base import Adapter, Frames, OpenAIShapedError, ProviderConfig, UpstreamError
from providers.gateway_keys import hash_gateway_key
from providers.redact import redact

from . import aliases, fallback, limits, requestlog
from .requestlog import RequestRecord
from .stream_usage import MARK, UsageWatch, ask_for_usage, supports_usage_option

log = logging.getLogger("gateway.chat")


class GatewayError(OpenAIShapedError):
    """An error the gateway itself answers with, in the OpenAI shape."""

    def __init__(
        self, status: int, message: str, *, type: str = "invalid_request_error", code: str | None = None,
        param: str | None = None, headers: dict[str, str] | None = None, origin: str = "gateway",
        cause: str = "", upstream_status: int | None = None, extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, status=status, type=type, code=code, param=param, cause=cause,
                         upstream_status=upstream_status)
        self.headers = headers or {}
        self.origin = origin  # for the request log: who refused ("gateway", "limit", "upstream")
        self.extra = extra or {}

    @classmethod
    def from_upstream(cls, exc: UpstreamError) -> GatewayError:
        headers = {}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(int(exc.retry_after + 0.999))
        # Upstream messages may echo the credential they rejected: mask provider secrets.
        origin = "limit" if isinstance(exc, limits.LimitExceeded) else "upstream"
        return cls(exc.status, redact(exc.message), type=exc.type, code=exc.code, param=exc.param, headers=headers,
                   origin=origin, cause=redact(exc.cause), upstream_status=exc.upstream_status,
                   extra=getattr(exc, "extra", None))


def _unauthorized(message: str) -> GatewayError:
    return GatewayError(401, message, type="invalid_request_error", code="invalid_api_key")


def credential(authorization: str | None, api_key: str | None = None) -> str | None:
    """The ``Authorization`` value to check: the header, else an Anthropic client's
    ``x-api-key`` as a Bearer value (Claude Code sends either)."""
    if authorization:
        return authorization
    api_key = api_key.strip() if api_key else ""
    return f"Bearer {api_key}" if api_key else None


async def authenticate(authorization: str | None) -> tuple[routing.Snapshot, routing.KeyInfo]:
    if not authorization:
        raise _unauthorized(_("Missing gateway API key. Send it as “Authorization: Bearer <key>”."))
    scheme, _sep, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized(_("Malformed Authorization header. Send “Authorization: Bearer <key>”."))
    snap = await routing.get_snapshot()
    digest = hash_gateway_key(token)
    key = snap.keys.get(digest)
    # The lookup is keyed by a SHA-256 of the presented secret, so timing can only
    # reveal bytes of a hash, never of a stored key.
    if key is None:
        # Maybe created by another process since the last check: wait for a due one.
        snap = await routing.get_fresh_snapshot()
        key = snap.keys.get(digest)
    if key is None:
        raise _unauthorized(_("Invalid or revoked gateway API key."))
    record = requestlog.CURRENT.get()
    if record is not None:
        record.note_key(key)
    if key.expires_at is not None and key.expired(time.time()):
        raise _expired(key)
    check_key_scope(key)
    routing.note_key_used(key)
    return snap, key


def _expired(key: routing.KeyInfo) -> GatewayError:
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(key.expires_at or 0))
    return GatewayError(
        401, _("This gateway key expired at %(when)s UTC. Ask an administrator for a new key or a later expiry.")
        % {"when": when}, type="invalid_request_error", code="key_expired", cause="the gateway key expired",
    )


def check_key_scope(key: routing.KeyInfo) -> None:
    """Refuse a key whose every allowed provider was deleted: a restriction never widens."""
    if key.no_provider_left:
        raise GatewayError(
            403,
            _("This gateway key is restricted to providers that no longer exist (no provider left). "
              "Ask an administrator to choose its providers again."),
            type="permission_error",
            code="no_provider_left",
        )


def _model_not_found(model: str) -> GatewayError:
    return GatewayError(
        404,
        _("The model “%(model)s” does not exist or you do not have access to it.") % {"model": model},
        type="invalid_request_error",
        code="model_not_found",
        param="model",
    )


def split_model(model: str) -> tuple[str, str]:
    """``<provider>/<upstream model>``, split at the first slash only."""
    provider, _sep, upstream = model.partition("/")
    return provider, upstream


def model_allowed(config: ProviderConfig, upstream_model: str) -> bool:
    allow = config.setting("allowed_models")
    return not allow or upstream_model in allow


def key_allows(key: routing.KeyInfo, sent: Any, resolved: str) -> bool:
    """The key's model allowlist admits the id the client sent (a route name, an
    alias, ``<provider>/<model>``) or the ``<provider>/<model>`` it resolved to."""
    return key.allows_model(resolved) or (isinstance(sent, str) and key.allows_model(sent))


def resolve_target(snap: routing.Snapshot, key: routing.KeyInfo, model: Any) -> tuple[
        routing.RouteInfo | None, ProviderConfig, str]:
    """(the route or None, the provider, the upstream model) that ``model`` names: a
    route name (one dict lookup: route names never hold a slash) or ``<provider>/<model>``,
    after the key's provider restriction and model allowlist (a refusal is an unknown
    model: 404). A route's targets are those the key may use (``fallback.usable``)."""
    sent = model
    model = aliases.apply(model)  # the operator's alias table (issue 17), for every /v1 surface
    if not isinstance(model, str) or not model.strip():
        raise GatewayError(
            400, _("“model” is required: “<provider>/<model>”."), param="model", code="missing_model"
        )
    route = snap.routes.get(model)
    if route is not None:
        target = fallback.choose(snap, key, route)
        if target is None:  # no target this key may use
            raise _model_not_found(model)
        return route, snap.providers[target.provider], target.model
    name, upstream = split_model(model)
    config = snap.providers.get(name)
    if config is None or not config.enabled or not key.may_use(config.id):
        raise _model_not_found(model)
    if not upstream:
        upstream = config.setting("default_model") or ""
        if not upstream:
            raise GatewayError(
                404,
                _("The provider “%(name)s” has no default model; name one as “%(name)s/<model>”.") % {"name": name},
                code="model_not_found",
                param="model",
            )
    if not model_allowed(config, upstream) or (key.allowed_models and not key_allows(key, sent, f"{name}/{upstream}")):
        raise _model_not_found(model)
    return None, config, upstream


class _NotFinite(ValueError):
    """NaN, Infinity or a number too large for a float: not JSON (RFC 8259), and the
    upstream request re-serialised from it would not be JSON either."""


def _refuse_constant(name: str) -> Any:
    raise _NotFinite(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _NotFinite(text[:20])
    return value


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)


def parse_body(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object; any malformed body is a 400 in the OpenAI shape."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise GatewayError(400, _("The request body is not valid UTF-8."), code="invalid_body") from None
    try:
        body = _loads(text)
    except RecursionError:
        raise GatewayError(400, _("The request body is nested too deeply."), code="invalid_body") from None
    except json.JSONDecodeError as exc:
        raise GatewayError(
            400, _("The request body is not valid JSON: %(reason)s.") % {"reason": exc.msg}, code="invalid_json"
        ) from None
    except _NotFinite:
        raise GatewayError(
            400, _("The request body holds NaN, Infinity or a number too large to represent."), code="invalid_json"
        ) from None
    except ValueError:
        # int() refuses integers of more than sys.get_int_max_str_digits() digits (4,300 by default).
        raise GatewayError(400, _("The request body holds a number with too many digits."),
                           code="invalid_json") from None
    if not isinstance(body, dict):
        raise GatewayError(400, _("The request body must be a JSON object."), code="invalid_body")
    messages = body.get("messages")
    if messages is None:
        raise GatewayError(400, _("“messages” is required."), param="messages", code="missing_messages")
    if not isinstance(messages, list):
        raise GatewayError(400, _("“messages” must be an array."), param="messages", code="invalid_type")
    stream = body.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        raise GatewayError(400, _("“stream” must be a boolean."), param="stream", code="invalid_type")
    return body


@dataclass
class Prepared:
    """A chat request ready to send. With a route, ``chat.fallback`` moves it from
    target to target (``config``, ``adapter``, ``body["model"]``, ``target``) before the
    first byte; ``attempts`` records each try and ``answered_by`` the target that
    answered (``"<provider>/<model>"``), for the request log."""

    config: ProviderConfig
    adapter: Adapter
    body: dict[str, Any]
    stream: bool
    key: routing.KeyInfo
    requested: str | None = None  # the model id the client used; answers carry it
    record: RequestRecord | None = None  # the request log's record (chat/requestlog.py)
    hide_usage: bool = False  # usage was asked upstream for the log only: keep it from the client
    snap: routing.Snapshot | None = None
    route: routing.RouteInfo | None = None
    target: str = ""  # the target being tried: "<provider>/<upstream model>"
    attempts: list[fallback.Attempt] = field(default_factory=list)
    answered_by: str | None = None
    request_bytes: int = 0
    reservation: limits.Reservation | None = None

    @property
    def route_name(self) -> str | None:
        return self.route.name if self.route is not None else None


# Answers carry the model id the client used (``<provider>/<model>``, or its alias),
# not the upstream's bare name (which stays in the request log). The hot path
# relays whole SSE frames without decoding them, so the ``"model": "..."`` members
# are rewritten in the bytes: inside a JSON string every quote is escaped, so this
# pattern only ever matches a real member. Every one in a frame is rewritten
# (several frames may come in one read; a native Messages or Responses stream
# nests it in ``message`` / ``response``). Measured: see docs/hardening.md.
_MODEL_MEMBER = re.compile(rb'"model"\s*:\s*"(?:[^"\\]|\\.)*"')


def model_rewriter(requested: str | None) -> Callable[[bytes], bytes] | None:
    """A function that sets every ``"model"`` member of JSON bytes to ``requested``."""
    if not requested:
        return None
    member = b'"model":' + json.dumps(requested, ensure_ascii=False).encode()
    template = member.replace(b"\\", b"\\\\")  # a literal template: no group references
    sub = _MODEL_MEMBER.sub
    return lambda data: sub(template, data)


async def complete(prepared: Prepared) -> bytes:
    """A non-streamed answer (from the route's targets in turn), with the model id the client used."""
    payload = await fallback.complete(prepared)
    rewrite = model_rewriter(prepared.requested)
    return rewrite(payload) if rewrite is not None else payload


async def prepare_chat(snap: routing.Snapshot, key: routing.KeyInfo, raw: bytes) -> Prepared:
    """Parse, route and admit the body of a request whose key ``authenticate`` accepted
    (from the headers, before the body was read)."""
    record = requestlog.CURRENT.get()
    if record is not None:
        record.note_request_body(raw)
    body = parse_body(raw)
    tokens = limits.reservation_tokens(body) if limits.counts_tokens(key) else 0
    return await prepare(snap, key, body, request_bytes=len(raw), tokens=tokens, usage_option=True)


async def prepare(snap: routing.Snapshot, key: routing.KeyInfo, body: dict[str, Any], *, request_bytes: int,
                  tokens: int, usage_option: bool = False) -> Prepared:
    """Route a parsed request (its ``model``: a route name or ``<provider>/<model>``)
    and admit it under the key's limits: ready for ``chat.fallback``, for chat
    completions and the inbound surfaces alike. ``body["model"]`` becomes the upstream
    model; ``tokens`` is what to reserve against the key's token limits;
    ``usage_option``: a chat completions stream asks its upstream for usage (for the log)."""
    record = requestlog.CURRENT.get()
    requested = body.get("model")
    stream = body.get("stream") is True
    if record is not None:
        record.stream = stream
        if isinstance(requested, str):
            record.requested_model = requested
    route, config, upstream = resolve_target(snap, key, requested)
    body["model"] = upstream
    hide_usage = False
    if record is not None:
        record.note_route(config, requested, upstream)
        # Tokens of a stream are known only if the upstream reports them: ask, and
        # take the answer out of the client's stream (chat/stream_usage.py).
        hide_usage = usage_option and stream and supports_usage_option(config) and ask_for_usage(body)
    # Rate limits per key (tokens reserved now, settled when the answer ends), then
    # the provider's concurrency cap and retries (chat/limits.py).
    reservation = await limits.admit(key, tokens)
    adapter = limits.guard(snap.adapter(config), key, request_bytes, reservation, record)
    prepared = Prepared(config=config, adapter=adapter, body=body, stream=stream, key=key,
                        requested=requested, record=record, hide_usage=hide_usage, snap=snap, route=route,
                        target=f"{config.name}/{upstream}", request_bytes=request_bytes, reservation=reservation)
    if route is not None:
        if record is not None:
            record.route = route.name
        fallback.claim_trial(prepared)
    return prepared


# How often an open stream looks whether its key is still valid (on its next
# frame; waiting for the configuration version check when one is due). A key
# revoked in any process ends the streams it has open in every process within
# GATEWAY_CONFIG_REFRESH_SECONDS plus this (plus one version check), as long as
# the upstream sends; one that sends nothing ends at its next frame or read_timeout.
# A key that expires ends its open streams within this after its expiry time.
KEY_CHECK_SECONDS = 1.0

_active_ids: tuple[routing.Snapshot | None, frozenset[int]] = (None, frozenset())


def _key_active(snap: routing.Snapshot, key_id: int) -> bool:
    global _active_ids
    seen, ids = _active_ids
    if seen is not snap:
        ids = frozenset(k.id for k in snap.keys.values())
        _active_ids = (snap, ids)
    return key_id in ids


def key_revoked_error() -> UpstreamError:
    return UpstreamError(
        _("The gateway API key was revoked while this stream was open."), status=401,
        type="invalid_request_error", code="key_revoked",
    )


async def key_still_active(key: routing.KeyInfo) -> bool:
    """Whether ``key`` is still in the routing table (waiting for a due version check)."""
    return _key_active(await routing.get_fresh_snapshot(), key.id)


def key_expired_error() -> UpstreamError:
    return UpstreamError(
        _("The gateway API key expired while this stream was open."), status=401,
        type="invalid_request_error", code="key_expired",
    )


async def open_stream_refusal(key: routing.KeyInfo) -> UpstreamError | None:
    """Why an open stream of ``key`` must end now: the key expired or was revoked
    (looked up at most every ``KEY_CHECK_SECONDS`` by the relays); None: it goes on."""
    if key.expired(time.time()):
        return key_expired_error()
    if not await key_still_active(key):
        return key_revoked_error()
    return None


def end_stream_for_key(key: routing.KeyInfo, provider: str, refusal: UpstreamError,
                       record: RequestRecord | None) -> None:
    """Log and record a stream ended by ``open_stream_refusal``."""
    why = "expired" if refusal.code == "key_expired" else "revoked"
    log.warning("key=%s provider=%s stream ended: key %s", key.name, provider, why)
    if record is not None:
        record.note_error(200, refusal.code, f"the gateway key was {why} during the stream")


async def relay(
    first: bytes, rest: Frames, provider: str, key: routing.KeyInfo | None = None,
    rewrite: Callable[[bytes], bytes] | None = None, record: RequestRecord | None = None, hide_usage: bool = False,
) -> Frames:
    """Yield a started stream; a failure after the first byte becomes a final error
    event, and so do the revocation and the expiry of ``key`` while the stream is open.
    ``rewrite`` (``model_rewriter``) sets the model id of every frame; ``record``
    gets the usage the stream reports (``hide_usage``: see chat/stream_usage.py)."""
    loop = asyncio.get_running_loop()
    next_check = loop.time() + KEY_CHECK_SECONDS
    watch = UsageWatch(record, hide_usage) if record is not None else None
    try:
        if watch is not None and MARK in first:
            first = watch.feed(first)
        yield rewrite(first) if rewrite is not None else first
        async for frame in rest:
            if watch is not None and MARK in frame:
                frame = watch.feed(frame)
                if not frame:
                    continue
            if rewrite is not None:
                frame = rewrite(frame)
            if key is not None and loop.time() >= next_check:
                next_check = loop.time() + KEY_CHECK_SECONDS
                refusal = await open_stream_refusal(key)
                if refusal is not None:
                    end_stream_for_key(key, provider, refusal, record)
                    yield refusal.sse_frame()
                    return
            yield frame
    except UpstreamError as exc:
        log.warning("provider=%s stream ended with error: %s", provider, exc.cause)
        exc.message = redact(exc.message)
        if record is not None:
            record.note_error(200, exc.code or "upstream_error", redact(exc.cause), outcome="upstream_error")
        yield exc.sse_frame()
    except Exception:
        log.exception("provider=%s stream failed", provider)
        if record is not None:
            record.note_error(200, "gateway_error", "the gateway failed while relaying the stream",
                              outcome="gateway_error")
        yield UpstreamError(_("The gateway failed while relaying the stream."), code="gateway_error").sse_frame()
    finally:
        await rest.aclose()


async def open_stream(prepared: Prepared, start: fallback.Start = fallback.chat_start) -> tuple[bytes, Frames]:
    """The upstream stream's first frame and the rest (trying the route's targets in
    turn, each opened by ``start``), so that errors before the stream starts are
    answered with a proper HTTP status."""
    try:
        return await fallback.open_stream(prepared, start)
    except fallback.EmptyStream:
        raise GatewayError(
            502, _("The upstream closed the stream without data."), type="upstream_error", code="upstream_empty_stream"
        ) from None
    except UpstreamError as exc:
        raise GatewayError.from_upstream(exc) from None


async def start_stream(prepared: Prepared) -> Frames:
    """A chat completions stream that started (``open_stream``), relayed (``relay``)."""
    first, agen = await open_stream(prepared)
    return relay(first, agen, prepared.config.name, prepared.key, model_rewriter(prepared.requested),
                 prepared.record, prepared.hide_usage)


MODELS_TIMEOUT = 10.0


async def provider_models(snap: routing.Snapshot, config: ProviderConfig) -> tuple[list[dict[str, Any]], str]:
    """One provider's models as OpenAI model objects with gateway ids, and where
    the list came from: ``upstream`` (its live /models), ``configured`` (its
    settings, because it has no usable /models)."""
    adapter = snap.adapter(config)
    try:
        listing = await asyncio.wait_for(adapter.list_models(), timeout=MODELS_TIMEOUT)
    except Exception as exc:  # one dead backend must not hide the others  # noqa: BLE001
        log.warning("provider=%s model listing failed: %s", config.name, type(exc).__name__)
        listing = adapter.configured_models()
    out = []
    for entry in listing.models:
        if not model_allowed(config, entry["id"]):
            continue
        created = entry.get("created")
        out.append(
            {
                "id": f"{config.name}/{entry['id']}",
                "object": "model",
                "created": created if isinstance(created, int) else config.created,
                "owned_by": config.name,
            }
        )
    return out, listing.source


async def list_models(snap: routing.Snapshot, key: routing.KeyInfo) -> dict[str, Any]:
    """``GET /v1/models``: the OpenAI list shape, plus ``sources`` (an extra
    top-level member SDKs ignore) telling per provider whether its models came
    live from the backend or from the provider's configured list. Routes come
    first (``owned_by: "gateway"``), each listed when the key may use one of its targets."""
    configs = [c for c in snap.providers.values() if c.enabled and key.may_use(c.id)]
    results = await asyncio.gather(*(provider_models(snap, c) for c in configs))
    data = [route_model(r) for r in snap.routes.values() if fallback.route_visible(snap, key, r)]
    # Only what the key's model allowlist admits (all of it when the key has none).
    data += [m for models, _source in results for m in models if key.allows_model(m["id"])]
    sources = {c.name: source for c, (_models, source) in zip(configs, results, strict=True)}
    return {"object": "list", "data": data, "sources": sources}


def route_model(route: routing.RouteInfo) -> dict[str, Any]:
    """A route as an OpenAI model object: its name is the model id."""
    return {"id": route.name, "object": "model", "created": route.created, "owned_by": "gateway"}


async def retrieve_model(snap: routing.Snapshot, key: routing.KeyInfo, model: str) -> dict[str, Any]:
    """``GET /v1/models/{provider}/{model}``: one entry of ``list_models``, or 404."""
    route = snap.routes.get(model)
    if route is not None and fallback.route_visible(snap, key, route):
        return route_model(route)
    name, _sep, _upstream = model.partition("/")
    config = snap.providers.get(name)
    if config is not None and config.enabled and key.may_use(config.id) and key.allows_model(model):
        models, _source = await provider_models(snap, config)
        for entry in models:
            if entry["id"] == model:
                return entry
    raise _model_not_found(model)
