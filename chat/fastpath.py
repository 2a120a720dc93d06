"""The raw ASGI fast path for /v1, composed in front of Django by ``gateway/asgi.py``.

``/v1/chat/completions``, ``/v1/models`` and the other client wires
(``/v1/messages`` and its ``count_tokens``, ``/v1/responses``, ``/v1/embeddings``:
``chat.inbound``, whose ``serve`` functions answer both doors) take a raw ASGI
fast path; every other request goes to Django. Why: Django's handler costs more per request than the
whole relay. Each of the eight stock middleware runs ``process_request`` and
``process_response`` through ``sync_to_async`` (about sixteen hops to one shared
thread per request), and the handler fires the sync ``request_started`` and
``request_finished`` receivers. ``manage.py bench --django-path`` measures it:
see docs/benchmark.md.

The fast path calls the same framework-independent logic as the Django views
(``chat.gateway``: authentication, routing, limits, the relay) and answers with
the same statuses, bodies and headers, including what the stock middleware add
(security headers, ``Content-Language``/``Vary``, ``Content-Length``). It takes a
request only when that stays exactly true, and hands it to Django otherwise:

- the middleware list holds only the stock middleware it knows
  (``KNOWN_MIDDLEWARE``) and no ``PREPEND_WWW``/``DISALLOWED_USER_AGENTS``;
- the request has a ``Host`` that ``ALLOWED_HOSTS`` accepts, no cookies (the
  language cookie, sessions), and would not be redirected to HTTPS;
- ``GATEWAY_ASGI_FAST_PATH`` is not set to ``0``.

Unlike Django, it checks the gateway key from the headers before it reads the
body, and receives the body under bounds of size, time and bytes in flight
(``chat/bodies.py``); /v1 requests it hands to Django get the same treatment in
front of Django's handler (``_django_v1``). When the client disconnects it
cancels the request, which closes the upstream request at once.
"""
from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest
from django.http.request import split_domain_port, validate_host
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from chat import bodies, gateway, requestlog, views
from chat.gateway import GatewayError
from chat.inbound import common, embeddings, messages, responses
from chat.requestlog import RequestRecord
from chat.requestlog_doors import client_left, note_gateway_error, surface_for
from providers.adapters.base import UpstreamError

log = logging.getLogger("gateway.asgi")  # the logger name deployments filter on
request_log = logging.getLogger("django.request")

# The stock middleware whose effect on a /v1 answer the fast path reproduces (or
# checks it has none), each with how. Kept apart from settings.MIDDLEWARE on
# purpose: a middleware added there is unknown here, and the fast path then
# declines every request rather than skip what it would have done.
KNOWN_MIDDLEWARE: dict[str, str] = {
    "django.middleware.security.SecurityMiddleware": "security headers and HSTS; declines a due HTTPS redirect",
    "whitenoise.middleware.WhiteNoiseMiddleware": "answers only paths under STATIC_URL, never /v1",
    "django.contrib.sessions.middleware.SessionMiddleware": "declines any request with a cookie",
    "django.middleware.locale.LocaleMiddleware": "Accept-Language, Content-Language and Vary",
    "django.middleware.common.CommonMiddleware": "Host check (declines PREPEND_WWW, blocked agents); Content-Length",
    "django.middleware.csrf.CsrfViewMiddleware": "the /v1 views are csrf_exempt",
    "django.contrib.auth.middleware.AuthenticationMiddleware": "a lazy user nothing on /v1 reads",
    "providers.audit.AuditMiddleware": "names who acts for the audit trail; changes no response",
    "django.contrib.messages.middleware.MessageMiddleware": "no cookie, so no messages",
    "django.middleware.clickjacking.XFrameOptionsMiddleware": "X-Frame-Options from settings",
}


def _fast_path_enabled() -> bool:
    if os.environ.get("GATEWAY_ASGI_FAST_PATH", "1").strip().lower() in {"0", "false", "no", "off"}:
        return False
    unknown = [m for m in settings.MIDDLEWARE if m not in KNOWN_MIDDLEWARE]
    if unknown:
        log.warning("the /v1 fast path is off: it does not know what %s does", ", ".join(unknown))
        return False
    if settings.PREPEND_WWW or settings.DISALLOWED_USER_AGENTS or settings.USE_X_FORWARDED_HOST:
        return False
    return True


class _Policy:
    """What the stock middleware do to a /v1 response, read from settings once."""

    def __init__(self) -> None:
        mw = set(settings.MIDDLEWARE)
        self.locale = "django.middleware.locale.LocaleMiddleware" in mw
        self.common = "django.middleware.common.CommonMiddleware" in mw
        security = "django.middleware.security.SecurityMiddleware" in mw
        self.ssl_redirect = security and settings.SECURE_SSL_REDIRECT
        self.proxy_ssl = settings.SECURE_PROXY_SSL_HEADER
        # The header Django reads as META["HTTP_X_FORWARDED_PROTO"], as an ASGI name.
        self.proxy_name = (
            self.proxy_ssl[0].removeprefix("HTTP_").lower().replace("_", "-").encode("latin1")
            if self.proxy_ssl else None
        )
        allowed = settings.ALLOWED_HOSTS
        if settings.DEBUG and not allowed:
            allowed = [".localhost", "127.0.0.1", "[::1]"]
        self.allowed_hosts = allowed
        self.hosts: dict[bytes, bool] = {}
        self.languages: dict[bytes, str] = {}
        # Response headers in the order Django's middleware add them (process_response
        # runs bottom-up): X-Frame-Options, Content-Length, Vary/Content-Language, security.
        self.xframe: list[tuple[bytes, bytes]] = []
        if "django.middleware.clickjacking.XFrameOptionsMiddleware" in mw:
            value = getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()
            self.xframe.append((b"X-Frame-Options", value.encode("latin1")))
        self.security: list[tuple[bytes, bytes]] = []
        self.hsts: tuple[bytes, bytes] | None = None
        if security:
            if settings.SECURE_HSTS_SECONDS:
                value = f"max-age={settings.SECURE_HSTS_SECONDS}"
                if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
                    value += "; includeSubDomains"
                if settings.SECURE_HSTS_PRELOAD:
                    value += "; preload"
                self.hsts = (b"Strict-Transport-Security", value.encode("latin1"))
            if settings.SECURE_CONTENT_TYPE_NOSNIFF:
                self.security.append((b"X-Content-Type-Options", b"nosniff"))
            policy = settings.SECURE_REFERRER_POLICY
            if policy:
                value = ",".join([v.strip() for v in policy.split(",")] if isinstance(policy, str) else policy)
                self.security.append((b"Referrer-Policy", value.encode("latin1")))
            if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
                self.security.append(
                    (b"Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode("latin1"))
                )

    def host_ok(self, host: bytes) -> bool:
        ok = self.hosts.get(host)
        if ok is None:
            domain, _port = split_domain_port(host.decode("latin1"))
            ok = bool(domain) and validate_host(domain, self.allowed_hosts)
            if len(self.hosts) < 1024:
                self.hosts[host] = ok
        return ok

    def language(self, accept: bytes) -> str:
        lang = self.languages.get(accept)
        if lang is None:
            probe = cast(HttpRequest, _LanguageProbe(accept.decode("latin1")))  # duck-typed: META and COOKIES
            lang = translation.get_language_from_request(probe)
            if len(self.languages) < 1024:
                self.languages[accept] = lang
        return lang


class _LanguageProbe:
    """The two attributes ``get_language_from_request`` reads (cookies are never fast-pathed)."""

    COOKIES: dict[str, str] = {}

    def __init__(self, accept: str) -> None:
        self.META = {"HTTP_ACCEPT_LANGUAGE": accept} if accept else {}


class _Request:
    __slots__ = ("api_key", "authorization", "beta", "content_length", "forwarded", "language", "path", "record",
                 "secure")

    record: RequestRecord  # the request log's (chat/requestlog.py), set by Application._v1

    def __init__(self, path: str) -> None:
        self.path = path
        self.authorization: str | None = None
        self.api_key: str | None = None  # x-api-key (the Anthropic clients' header)
        self.beta: str | None = None  # anthropic-beta
        self.content_length: bytes | None = None
        self.forwarded: bytes | None = None  # X-Forwarded-For, for the log's client address
        self.language = ""
        self.secure = False


def _inspect(scope: dict[str, Any], policy: _Policy) -> _Request | None:
    """Read what the fast path needs from the headers, or None to hand the request to Django."""
    if scope.get("root_path"):
        return None
    host = None
    accept = b""
    proxy_proto: bytes | None = None
    proxy_name = policy.proxy_name
    auth: list[bytes] = []
    api_key: list[bytes] = []
    beta: list[bytes] = []
    req = _Request(scope["path"])
    for name, value in scope["headers"]:
        if name == b"authorization":
            auth.append(value)
        elif name == b"x-api-key":
            api_key.append(value)
        elif name == b"anthropic-beta":
            beta.append(value)
        elif name == b"host":
            if host is not None:
                return None
            host = value
        elif name == b"content-length":
            req.content_length = value
        elif name == b"accept-language":
            accept = value if not accept else accept + b"," + value
        elif name == b"cookie":
            return None
        elif name == b"x-forwarded-for":
            req.forwarded = value if req.forwarded is None else req.forwarded + b"," + value
        elif proxy_name is not None and name.replace(b"_", b"-") == proxy_name:
            proxy_proto = value if proxy_proto is None else proxy_proto + b"," + value
    if host is None or not policy.host_ok(host):
        return None
    if proxy_name is not None and proxy_proto is not None:
        req.secure = proxy_proto.decode("latin1").split(",")[0].strip() == policy.proxy_ssl[1]
    else:
        req.secure = scope.get("scheme") == "https"
    if policy.ssl_redirect and not req.secure:
        return None
    # Repeated headers joined with commas, as Django's request.headers has them.
    if auth:
        req.authorization = b",".join(auth).decode("latin1")
    if api_key:
        req.api_key = b",".join(api_key).decode("latin1")
    if beta:
        req.beta = b",".join(beta).decode("latin1")
    req.language = policy.language(accept) if policy.locale else settings.LANGUAGE_CODE
    return req


def _headers(policy: _Policy, req: _Request, own: list[tuple[bytes, bytes]],
             length: int | None) -> list[tuple[bytes, bytes]]:
    headers = own + policy.xframe
    if length is not None and policy.common:
        headers.append((b"Content-Length", str(length).encode()))
    if policy.locale:
        headers.append((b"Vary", b"Accept-Language"))
        headers.append((b"Content-Language", req.language.encode("latin1")))
    if req.secure and policy.hsts:
        headers.append(policy.hsts)
    headers.extend(policy.security)
    return headers


async def _send_django_response(send: Any, policy: _Policy, req: _Request, response: Any) -> None:
    """Send a (small, non-streaming) Django response built by the views' helpers,
    logged as Django's handler logs 4xx/5xx answers."""
    status = response.status_code
    if status >= 400:
        level = logging.ERROR if status >= 500 else logging.WARNING
        request_log.log(level, "%s: %s", response.reason_phrase, req.path,
                        extra={"status_code": status, "request": None})
    own = []
    vary = None
    for name, value in response.items():
        if name.lower() == "vary":
            vary = value
            continue
        own.append((name.encode("latin1"), value.encode("latin1")))
    if vary is not None:
        # Never produced by the /v1 helpers today; keep Django's merging if it ever is.
        patch_vary_headers(response, ("Accept-Language",))
    body = response.content
    record = req.record
    error = getattr(response, "gateway_error", None)
    if error is not None:
        note_gateway_error(record, error, status)
    record.status = status
    await send({"type": "http.response.start", "status": response.status_code,
                "headers": _headers(policy, req, own, len(body))})
    record.note_first_byte()
    record.note_sent(body)
    await send({"type": "http.response.body", "body": body})


class _Watch:
    """Cancel the request task when the client disconnects (as Django's handler does)."""

    __slots__ = ("finished", "fired", "task")

    task: asyncio.Task[None] | None

    def __init__(self, receive: Any) -> None:
        self.fired = False
        self.finished = False
        self.task = asyncio.get_running_loop().create_task(self._listen(receive, asyncio.current_task()))

    async def _listen(self, receive: Any, target: asyncio.Task[Any] | None) -> None:
        message = await receive()
        if message["type"] == "http.disconnect" and not self.finished and target is not None:
            self.fired = True
            target.cancel()

    def stop(self) -> None:
        self.finished = True
        task, self.task = self.task, None
        if task is not None:
            # Dropping the reference matters: the cancelled listener keeps its frame
            # (and so this watch) in its exception's traceback; a watch that kept the
            # task would make a reference cycle of every request's objects, left for
            # the slowest garbage collection to find (tens of ms at a time).
            task.cancel()

    def absorb_cancel(self) -> None:
        """Call from ``except CancelledError``: a cancellation this watch caused (the
        client left) ends the request quietly; any other one propagates."""
        if not self.fired:
            raise
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()


SSE_HEADERS = [(b"Content-Type", b"text/event-stream")] + [
    (name.encode("latin1"), value.encode("latin1")) for name, value in views.SSE_HEADERS.items()
]
JSON_HEADERS = [(b"Content-Type", b"application/json")]


async def _admit(scope: dict[str, Any], receive: Any, send: Any, policy: _Policy, req: _Request,
                 method: str) -> tuple[Any, Any, bytes] | None:
    """The method, the key from the headers (a stranger's body is never read), then
    the body under the bounds of ``chat/bodies.py``: (routing table, key, body), or
    None once the request is answered (or the client went away mid-body)."""
    if scope["method"] != method:
        await _send_django_response(send, policy, req, views._method_not_allowed(method))
        return None
    budget = bodies.Budget()
    try:
        snap, key = await gateway.authenticate(req.authorization)
        raw = await bodies.receive_body(receive, bodies.declared_length(req.content_length), budget)
    except GatewayError as exc:
        await _send_django_response(send, policy, req, views.error_response(exc))
        return None
    except bodies.BodyRefused as refused:
        await _send_django_response(send, policy, req, views.error_response(refused.error()))
        return None
    finally:
        budget.release()
    if raw is None:
        return None  # the client went away before it finished sending
    return snap, key, raw


async def _chat(scope: dict[str, Any], receive: Any, send: Any, policy: _Policy, req: _Request) -> None:
    admitted = await _admit(scope, receive, send, policy, req, "POST")
    if admitted is not None:
        await _answer(receive, send, policy, req, *admitted)


async def _relay_frames(send: Any, frames: Any, record: Any) -> None:
    """Send a started stream's frames, noting the first byte and what went out in the
    request log (the bytes themselves only when the key records bodies)."""
    capture = record.capture
    async for frame in frames:
        if record.ttft_ms is None:
            record.note_first_byte()
        if capture:
            record.note_sent(frame)
        else:
            record.bytes_out += len(frame)
        await send({"type": "http.response.body", "body": frame, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def _answer(receive: Any, send: Any, policy: _Policy, req: _Request, snap: Any, key: Any, raw: bytes) -> None:
    watch = _Watch(receive)
    frames = None
    try:
        try:
            prepared = await gateway.prepare_chat(snap, key, raw)
            if prepared.stream:
                frames = await gateway.start_stream(prepared)
            else:
                payload = await gateway.complete(prepared)
        except GatewayError as exc:
            await _send_django_response(send, policy, req, views.error_response(exc))
            return
        except UpstreamError as exc:
            await _send_django_response(send, policy, req, views.error_response(GatewayError.from_upstream(exc)))
            return
        record = req.record
        record.status = 200
        if frames is None:
            await send({"type": "http.response.start", "status": 200,
                        "headers": _headers(policy, req, list(JSON_HEADERS), len(payload))})
            record.note_first_byte()
            record.note_sent(payload)
            record.note_usage(requestlog.usage_from_json(payload))
            await send({"type": "http.response.body", "body": payload})
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": _headers(policy, req, list(SSE_HEADERS), None)})
        await _relay_frames(send, frames, record)
    except asyncio.CancelledError:
        watch.absorb_cancel()
        client_left(req.record)
    finally:
        watch.stop()
        if frames is not None:
            await frames.aclose()


async def _models(scope: dict[str, Any], receive: Any, send: Any, policy: _Policy, req: _Request) -> None:
    # A GET has no body to speak of; whatever comes is received under the same bounds, then dropped.
    admitted = await _admit(scope, receive, send, policy, req, "GET")
    if admitted is None:
        return
    snap, key, _raw = admitted
    watch = _Watch(receive)
    try:
        from django.http import JsonResponse

        await _send_django_response(send, policy, req, JsonResponse(await gateway.list_models(snap, key)))
    except asyncio.CancelledError:
        watch.absorb_cancel()
        client_left(req.record)
    finally:
        watch.stop()


def _inbound(serve: Callable[[common.Incoming], Awaitable[common.Answer]]) -> Any:
    """The fast-path handler of a client wire served by ``serve`` (chat/inbound): the
    same function answers behind Django, so both doors answer alike. The surface
    checks the key first and only then calls ``read``, which receives the body under
    the bounds of chat/bodies.py; from then on a client that leaves cancels it."""

    async def handler(scope: dict[str, Any], receive: Any, send: Any, policy: _Policy, req: _Request) -> None:
        budget = bodies.Budget()
        watch: _Watch | None = None

        async def read() -> bytes:
            nonlocal watch
            try:
                raw = await bodies.receive_body(receive, bodies.declared_length(req.content_length), budget)
            except bodies.BodyRefused as refused:
                raise refused.error() from None
            finally:
                budget.release()
            if raw is None:
                raise common.ClientGone
            watch = _Watch(receive)
            return raw

        incoming = common.Incoming(method=scope["method"], path=req.path,
                                   authorization=gateway.credential(req.authorization, req.api_key),
                                   read=read, beta=req.beta)
        frames = None
        record = req.record
        try:
            answer = await serve(incoming)
            frames = answer.frames
            if frames is None:
                response = common.to_django(answer)
                await _send_django_response(send, policy, req, response)
                if answer.status < 400 and record.tokens_in is None:
                    record.note_usage(requestlog.usage_from_json(response.content))
                return
            record.status = answer.status
            own = [(b"Content-Type", answer.content_type.encode("latin1"))]
            own += [(name.encode("latin1"), value.encode("latin1")) for name, value in answer.headers.items()]
            await send({"type": "http.response.start", "status": answer.status,
                        "headers": _headers(policy, req, own, None)})
            await _relay_frames(send, frames, record)
        except common.ClientGone:
            return  # the client went away before it finished sending
        except asyncio.CancelledError:
            if watch is None:
                raise
            watch.absorb_cancel()
            client_left(record)
        finally:
            if watch is not None:
                watch.stop()
            if frames is not None:
                await frames.aclose()  # type: ignore[attr-defined]

    return handler


async def _server_error(send: Any, policy: _Policy, req: _Request) -> None:
    # Built from nothing that could fail again (no template, no request object):
    # the answer to a bug must not be a second crash.
    error = GatewayError(500, _("The gateway failed to handle this request."), type="server_error",
                         code="internal_error")
    await _send_django_response(send, policy, req, views.error_response(error))


FAST_ROUTES = {
    "/v1/chat/completions": _chat,
    "/v1/models": _models,
    "/v1/messages": _inbound(messages.serve_messages),
    "/v1/messages/count_tokens": _inbound(messages.serve_count_tokens),
    "/v1/responses": _inbound(responses.serve_responses),
    "/v1/embeddings": _inbound(embeddings.serve_embeddings),
}


class Application:
    """The fast path for the /v1 routes in front of Django's ASGI handler."""

    def __init__(self, django_app: Any, *, fast: bool | None = None) -> None:
        self.django_app = django_app
        self.fast = _fast_path_enabled() if fast is None else fast
        self._policy: _Policy | None = None

    @property
    def policy(self) -> _Policy:
        if self._policy is None:
            self._policy = _Policy()
        return self._policy

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            await self._v1(scope, receive, send)
            return
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        await self.django_app(scope, receive, send)

    async def _v1(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.fast:
            handler = FAST_ROUTES.get(scope["path"])
            if handler is not None:
                policy = self.policy
                req = _inspect(scope, policy)
                if req is not None:
                    translation.activate(req.language)
                    client = scope.get("client")
                    record = req.record = requestlog.start(
                        surface_for(req.path), method=scope["method"], path=req.path,
                        peer=client[0] if client else None,
                        forwarded=req.forwarded.decode("latin1") if req.forwarded is not None else None,
                    )
                    token = requestlog.CURRENT.set(record)
                    try:
                        await handler(scope, receive, send, policy, req)
                    except Exception:  # noqa: BLE001 -- the answer to any bug is a logged 500
                        request_log.exception("Internal Server Error: %s", scope["path"])
                        record.note_error(500, "internal_error", "the fast path raised an exception",
                                          outcome="gateway_error")
                        try:
                            await _server_error(send, policy, req)
                        except Exception:  # noqa: BLE001 -- the answer to any bug is a logged 500
                            pass  # the response had already started
                    finally:
                        requestlog.CURRENT.reset(token)
                        record.finish()  # no answer sent at all: the client left (499)
                    return
        await _django_v1(self.django_app, scope, receive, send)


async def _lifespan(receive: Any, send: Any) -> None:
    """The ASGI lifespan protocol (Django's handler has none). At shutdown (SIGTERM:
    uvicorn finishes the open requests first) the request log's queue is written,
    before the process exits (gateway/asgi.py)."""
    from chat import requestlog_writer

    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            try:
                await asyncio.to_thread(requestlog_writer.stop)
            except Exception:
                log.exception("writing the request log at shutdown failed")
            await send({"type": "lifespan.shutdown.complete"})
            return


def _no_body(receive: Any) -> Any:
    """A receive that gives Django an empty body, then only the client's disconnect
    (body bytes still arriving are dropped, never held)."""
    delivered = False

    async def empty() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": b"", "more_body": False}
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message

    return empty


def _replay(raw: bytes, receive: Any) -> Any:
    """A receive that gives Django the body already received, then the client's own events."""
    pending = [{"type": "http.request", "body": raw, "more_body": False}]

    async def replay() -> dict[str, Any]:
        return pending.pop() if pending else await receive()

    return replay


async def _django_v1(django_app: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """/v1 requests the fast path does not take (cookies, unknown middleware...) keep
    its order: the key from the headers first, then the body under the same bounds
    (chat/bodies.py). Django's views answer: a stranger's request reaches them with
    an empty body (they authenticate first and answer 401), a refused body with
    the reason in ``scope["gateway.body_refused"]``."""
    authorization = gateway.credential(
        b",".join(v for n, v in scope["headers"] if n == b"authorization").decode("latin1") or None,
        next((v for n, v in scope["headers"] if n == b"x-api-key"), b"").decode("latin1"),
    )
    length = next((v for n, v in scope["headers"] if n == b"content-length"), None)
    try:
        await gateway.authenticate(authorization)
    except GatewayError:
        await django_app(scope, _no_body(receive), send)
        return
    budget = bodies.Budget()
    try:
        raw = await bodies.receive_body(receive, bodies.declared_length(length), budget)
    except bodies.BodyRefused as refused:
        await django_app({**scope, "gateway.body_refused": refused}, _no_body(receive), send)
        return
    finally:
        budget.release()
    if raw is None:
        # The client left while sending its body: Django never sees it, the log does.
        client = scope.get("client")
        requestlog.start(surface_for(scope["path"]), method=scope["method"], path=scope["path"],
                         peer=client[0] if client else None).finish()
        return
    await django_app(scope, _replay(raw, receive), send)
