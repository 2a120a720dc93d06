"""Connection checks, base-URL help and the capability probe for providers.

Other gateways check one thing (a ``/models`` call), so a backend whose streams
break is found by users later. This module asks each question that actually
breaks OpenAI-compatible backends with one small request, and reports every
answer as a checklist item (ok / warn / fail) with a one-line explanation in the
active language and, where the gateway can compensate, a settings change that
staff can apply in one click.

Everything here is synchronous (the one upstream client through its synchronous
entry, ``providers.transport.sync``), so the admin, the REST API and the
management command call it the same way. Results carry cause codes and
parameters; messages are rendered with ``gettext`` when asked for, so one result
can be shown in the language of whoever looks at it. Nothing here ever puts a
provider secret (API key, headers, query parameters, URL credentials) into a
message.
"""
from __future__ import annotations

import ipaddress
import json
import shutil
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from providers.transport.sse import SSEDecoder

from .. import catalog, url_policy
from ..adapters.base import ProviderConfig
from ..adapters.chunk_shaping import REASONING_FIELDS
from ..adapters.openai_compat import normalise_model_list, shape_request
from ..redact import redact_for
from ..transport import client as transport
from ..transport import errors as transport_errors
from ..transport.sync import SyncClient
from .probe_request import tiny_request

# A check must answer quickly even when the provider allows minutes per request.
DEFAULT_TIMEOUT = 10.0
PROBE_MAX_TOKENS = 16
MAX_EVENTS = 400
OPENAI_COMPATIBLE = ("custom", "openai", "dashscope")
# Types whose chat may work without a usable /models listing: tested by a tiny request.
TINY_REQUEST_TYPES = ("anthropic", "codex")
# A program starts, then talks to its backend: a little longer than an HTTP check.
PROGRAM_TIMEOUT = 30.0

Status = Literal["ok", "warn", "fail", "skip"]


# -- messages -----------------------------------------------------------------


def describe(cause: str, params: dict[str, Any] | None = None) -> str:
    """The one-line explanation for ``cause`` in the active language."""
    p = dict(params or {})
    count = p.get("count") if isinstance(p.get("count"), int) else 0
    messages = {
        # connection check
        "ok": ngettext("Reachable in %(latency)s ms; the backend reports %(count)s model.",
                       "Reachable in %(latency)s ms; the backend reports %(count)s models.", count),
        "ok_no_models": _("Reachable in %(latency)s ms; the backend has no /models endpoint."),
        "dns": _("The host name “%(host)s” could not be resolved (DNS failure)."),
        "refused": _("Connection refused: nothing is listening on %(host)s port %(port)s."),
        "tls": _("The TLS handshake failed: wrong scheme (https to a plain HTTP server) or an untrusted certificate."),
        "timeout": _("The backend did not answer within %(seconds)s seconds."),
        "unauthorized": _("The backend refused the API key (HTTP %(status)s)."),
        "models_not_found": _("HTTP 404 on %(url)s: there is no /models endpoint at this base URL."),
        "http_error": _("The backend answered HTTP %(status)s: %(detail)s"),
        "http_error_bare": _("The backend answered HTTP %(status)s."),
        "ok_tiny_request": _("Reachable in %(latency)s ms: /models gave no list (HTTP %(status)s), but a one-word "
                             "request to %(model)s was answered."),
        "tiny_request_failed": _("/models gave no list (HTTP %(status)s), and a one-word request to %(model)s "
                                 "failed: %(detail)s"),
        "program_ok": _("“%(command)s” answered a one-word prompt to %(model)s in %(latency)s ms."),
        "program_failed": _("“%(command)s” started but did not answer a one-word prompt to %(model)s: %(detail)s"),
        "invalid_response": _("The answer of %(url)s is not a model list."),
        "unreachable": _("The backend could not be reached (%(detail)s)."),
        "too_large": _("The backend's answer is larger than the gateway accepts (%(limit)s bytes)."),
        "blocked": _("This address is not allowed: %(detail)s"),
        "no_base_url": _("The provider has no base URL."),
        "ca_bundle": _("The CA bundle %(path)s cannot be read or is not a certificate file."),
        "secret_error": _("The provider's stored secrets cannot be decrypted with the current encryption key."),
        "base_url_variant": _("The base URL as entered does not answer, but %(url)s does: use it instead."),
        "command_found": _("The command “%(command)s” was found at %(path)s."),
        "configured_models": _("The type “%(type)s” runs a program and makes no HTTP call to list models; it "
                               "lists the models configured in its settings."),
        "command_missing": _("The command “%(command)s” was not found on this server."),
        # capability probe
        "models_ok": ngettext("/models lists %(count)s model.", "/models lists %(count)s models.", count),
        "models_missing": _("There is no /models endpoint; set the model list in the provider's settings."),
        "no_model": _("No model to test with: set a default model or fetch the model list first."),
        "not_openai": _("The capability probe applies to OpenAI-compatible providers only."),
        "skipped_unreachable": _("Skipped: the backend is not reachable."),
        "skipped_stream": _("Skipped: a streamed chat does not work."),
        "stream_ok": _("A streamed chat with %(model)s worked: %(events)s events, ended properly."),
        "stream_no_done": _("The stream of %(model)s ended without [DONE] or a finish reason; the gateway closes it for clients."),
        "stream_http": _("A streamed chat with %(model)s failed with HTTP %(status)s: %(detail)s"),
        "stream_broken": _("A streamed chat with %(model)s failed: %(detail)s"),
        "stream_empty": _("A streamed chat with %(model)s sent no chunks."),
        "usage_ok": _("stream_options.include_usage is accepted and usage is reported (%(total)s tokens)."),
        "usage_missing": _("stream_options.include_usage is accepted but no usage is reported."),
        "usage_rejected": _("The backend rejects stream_options (HTTP %(status)s); drop it from requests."),
        "tools_ok": _("Streamed tool calls carry an index."),
        "tools_no_index": _("Streamed tool calls have no index; clients such as the OpenAI SDK cannot assemble them."),
        "tools_not_called": _("The model did not call the test tool, so tool call streaming could not be checked."),
        "tools_rejected": _("The backend rejected a request with tools (HTTP %(status)s)."),
        "reasoning_content": _("Reasoning is sent as reasoning_content."),
        "reasoning": _("Reasoning is sent as reasoning (not reasoning_content); clients that read reasoning_content will not show it."),
        "reasoning_rename": _("Reasoning is sent as reasoning (not reasoning_content); clients that read "
                              "reasoning_content will not show it. The gateway can rename it to reasoning_content."),
        "reasoning_renamed": _("Reasoning reaches clients as %(field)s (the gateway renames the other field)."),
        "reasoning_none": _("No reasoning field was seen (the model may not reason)."),
        "max_tokens_ok": _("max_tokens is accepted."),
        "max_completion_tokens": _("The backend rejects max_tokens and wants max_completion_tokens; drop max_tokens from requests."),
        "max_completion_tokens_rename": _("The backend rejects max_tokens and wants max_completion_tokens; the "
                                          "gateway can rename max_tokens to max_completion_tokens in requests."),
        "error": _("The check failed: %(detail)s"),
    }
    if cause == "http_error" and not p.get("detail"):
        cause = "http_error_bare"
    template = messages.get(cause, messages["error"])
    p.setdefault("detail", cause)
    try:
        return template % p
    except (KeyError, TypeError, ValueError):
        return template


def item_label(key: str) -> str:
    labels = {
        "base_url": _("Base URL"),
        "models": _("/models endpoint"),
        "stream": _("Streamed chat"),
        "stream_usage": _("stream_options.include_usage"),
        "tool_index": _("Tool call index in streams"),
        "reasoning": _("Reasoning field"),
        "max_tokens": _("max_tokens or max_completion_tokens"),
    }
    return labels.get(key, key)


def status_label(status: str) -> str:
    return {"ok": _("OK"), "warn": _("Warning"), "fail": _("Failed"), "skip": _("Skipped")}.get(status, status)


# -- results --------------------------------------------------------------------


class ConnectionDict(TypedDict):
    ok: bool
    reachable: bool
    latency_ms: int | None
    model_count: int | None
    models: list[str]
    cause: str
    status: int | None
    message: str
    suggested_base_url: str | None


@dataclass
class ConnectionResult:
    ok: bool
    reachable: bool
    cause: str
    params: dict[str, Any] = field(default_factory=dict)
    latency_ms: int | None = None
    models: list[str] | None = None
    status: int | None = None
    suggested_base_url: str | None = None
    working_base_url: str | None = None  # where /models answered (typed URL or variant)

    @property
    def model_count(self) -> int | None:
        return None if self.models is None else len(self.models)

    def message(self) -> str:
        return describe(self.cause, self.params)

    def as_dict(self) -> ConnectionDict:
        return {
            "ok": self.ok,
            "reachable": self.reachable,
            "latency_ms": self.latency_ms,
            "model_count": self.model_count,
            "models": list(self.models or []),
            "cause": self.cause,
            "status": self.status,
            "message": self.message(),
            "suggested_base_url": self.suggested_base_url,
        }


@dataclass
class ProbeItem:
    key: str
    status: Status
    cause: str
    params: dict[str, Any] = field(default_factory=dict)
    suggestion: dict[str, Any] | None = None  # {"settings": {...}} and/or {"base_url": "..."}

    def message(self) -> str:
        return describe(self.cause, self.params)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": item_label(self.key),
            "status": self.status,
            "cause": self.cause,
            "message": self.message(),
            "suggestion": self.suggestion,
        }


@dataclass
class ProbeReport:
    connection: ConnectionResult
    items: list[ProbeItem]
    model: str | None = None

    def suggestions(self) -> dict[str, Any]:
        """Every item's suggestion merged into one change."""
        merged: dict[str, Any] = {}
        for item in self.items:
            if item.suggestion:
                merged = merge_suggestion(merged, item.suggestion)
        return merged

    def as_dict(self) -> dict[str, Any]:
        return {
            "connection": self.connection.as_dict(),
            "model": self.model,
            "items": [i.as_dict() for i in self.items],
            "suggestions": self.suggestions(),
        }


def merge_settings(current: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """Settings with ``change`` merged in: lists are united (order kept), objects merged."""
    out = dict(current or {})
    for key, value in change.items():
        old = out.get(key)
        if isinstance(value, list) and isinstance(old, list):
            out[key] = old + [v for v in value if v not in old]
        elif isinstance(value, dict) and isinstance(old, dict):
            out[key] = {**old, **value}
        else:
            out[key] = value
    return out


def merge_suggestion(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    if "settings" in b:
        out["settings"] = merge_settings(out.get("settings", {}), b["settings"])
    if "base_url" in b:
        out["base_url"] = b["base_url"]
    return out


# -- HTTP plumbing ------------------------------------------------------------------


def display_url(url: str) -> str:
    """A URL safe to show: no credentials, no query (it may carry a key)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _timeout(config: ProviderConfig, timeout: float | None) -> float:
    limit = float(timeout or DEFAULT_TIMEOUT)
    for key in ("read_timeout", "connect_timeout"):
        value = config.setting(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < limit:
            limit = float(value)
    return limit


def _client(config: ProviderConfig, timeout: float) -> SyncClient:
    """The upstream client for a check, every wait bounded by ``timeout``. Raises
    ``OSError``/``ssl.SSLError`` for an unreadable or invalid ``ca_bundle``."""
    if config.setting("verify_tls", True) is not False and config.setting("ca_bundle"):
        ssl.create_default_context(cafile=config.setting("ca_bundle"))
    return SyncClient(config, transport.Timeouts(connect=timeout, first_byte=timeout, idle=timeout))


def _headers(config: ProviderConfig, *, stream: bool = False) -> dict[str, str]:
    headers = {"Content-Type": "application/json", **transport.allowed_extra_headers(config.extra_headers)}
    if config.api_key:
        if config.provider_type == "anthropic":
            headers["x-api-key"] = config.api_key
            headers["anthropic-version"] = str(config.setting("anthropic_version", "2023-06-01"))
        else:
            headers["Authorization"] = f"Bearer {config.api_key}"
    if stream:
        headers["Accept"] = "text/event-stream"
    return headers


def _url(base: str, path: str, config: ProviderConfig) -> str:
    query = config.setting("extra_query") or {}
    return f"{base.rstrip('/')}{path}" + (("?" + urlencode(query)) if query else "")


def _address_problem(url: str, config: ProviderConfig) -> ConnectionResult | None:
    """Resolve the host once: a DNS failure gets its own cause, and the resolved
    addresses must pass the same policy as saved URLs (no metadata endpoints)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not config.setting("direct", False) and transport.env_proxy(url)[0] is not None:
        return None  # the proxy resolves the name (the same choice of proxy as the client's)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return ConnectionResult(ok=False, reachable=False, cause="dns", params={"host": host})
    for info in infos:
        try:
            ip = ipaddress.ip_address(info[4][0])
        except ValueError:
            continue
        problem = url_policy.check_address(host, ip)
        if problem:
            return ConnectionResult(ok=False, reachable=False, cause="blocked", params={"detail": problem})
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def classify(exc: BaseException, url: str, timeout: float) -> tuple[str, dict[str, Any]]:
    """A cause code and its parameters for a transport failure."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if isinstance(exc, TimeoutError):
        return "timeout", {"seconds": f"{timeout:g}"}
    if isinstance(exc, transport_errors.LimitExceeded):
        return "too_large", {"limit": exc.limit}
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain)
    for e in chain:
        if isinstance(e, ssl.SSLError):
            return "tls", {}
        if isinstance(e, socket.gaierror):
            return "dns", {"host": host}
        if isinstance(e, ConnectionRefusedError):
            return "refused", {"host": host, "port": port}
        if isinstance(e, (TimeoutError, socket.timeout)):
            return "timeout", {"seconds": f"{timeout:g}"}
    lowered = text.lower()
    if "ssl" in lowered or "certificate" in lowered or "tls" in lowered:
        return "tls", {}
    if "connection refused" in lowered or "errno 111" in lowered:
        return "refused", {"host": host, "port": port}
    if "name or service not known" in lowered or "name resolution" in lowered or "nodename nor servname" in lowered:
        return "dns", {"host": host}
    return "unreachable", {"detail": type(exc).__name__}


# -- connection check --------------------------------------------------------------


def base_url_variants(base_url: str) -> list[str]:
    """The usual fixes of a mistyped OpenAI base URL, most likely first: a trailing
    ``/chat/completions`` or ``/models`` removed, ``/v1`` added, ``/v1`` removed."""
    parts = urlsplit(base_url.strip())
    path = parts.path.rstrip("/")
    for suffix in ("/chat/completions", "/completions", "/models", "/embeddings"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    candidates = [path]
    if not path.endswith("/v1"):
        candidates.append(path + "/v1")
    else:
        candidates.append(path[:-3])
    out: list[str] = []
    original = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    for candidate in candidates:
        url = urlunsplit((parts.scheme, parts.netloc, candidate, "", ""))
        if url != original and url not in out:
            out.append(url)
    return out


def _get_models(client: SyncClient, base: str, config: ProviderConfig) -> tuple[int, Any, float, str]:
    """(status, parsed JSON or None, milliseconds, the body's start as text for error details)."""
    started = time.perf_counter()
    status, body = client.get(_url(base, "/models", config), headers=_headers(config))
    elapsed = (time.perf_counter() - started) * 1000
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    return status, payload, elapsed, body[:4096].decode("utf-8", "replace")


def _model_ids(payload: Any, config: ProviderConfig) -> list[str] | None:
    entries = normalise_model_list(payload, config.name, config.created)
    return None if entries is None else [e["id"] for e in entries]


def check_config(config: ProviderConfig, *, timeout: float | None = None, try_variants: bool = True,
                 tiny: bool = True) -> ConnectionResult:
    """Check that ``config``'s backend answers: reachable, latency, models, or why not.

    With ``tiny`` (the connection test), a type whose chat may work without a
    listing is tested by a one-word request; without it (fetching the model
    list) only the listing is asked for and a program-based type, which has none,
    says that it lists its configured models."""
    ptype = catalog.PROVIDER_TYPES.get(config.provider_type)
    if ptype is not None and ptype.transport == "subprocess" and not tiny:
        models = [str(m) for m in config.setting("models") or []]
        return ConnectionResult(ok=False, reachable=False, cause="configured_models",
                                params={"type": config.provider_type}, models=models)
    if ptype is not None and ptype.transport == "subprocess":
        command = str(config.setting("command") or "")
        path = shutil.which(command) if command else None
        if not path:
            return ConnectionResult(ok=False, reachable=False, cause="command_missing", params={"command": command})
        return _check_program(config, command, float(timeout or PROGRAM_TIMEOUT))
    base = config.base_url
    if not base:
        return ConnectionResult(ok=False, reachable=False, cause="no_base_url")
    seconds = _timeout(config, timeout)
    problem = _address_problem(base, config)
    if problem is not None:
        return problem
    shown = display_url(_url(base, "/models", config).split("?")[0])
    try:
        client = _client(config, seconds)
    except (OSError, ssl.SSLError):  # an unreadable or invalid ca_bundle
        return ConnectionResult(ok=False, reachable=False, cause="ca_bundle",
                                params={"path": str(config.setting("ca_bundle"))})
    with client:
        try:
            status, payload, elapsed, body_text = _get_models(client, base, config)
        except Exception as exc:  # every transport failure is a finding, not a crash
            cause, params = classify(exc, base, seconds)
            return ConnectionResult(ok=False, reachable=False, cause=cause, params=params)
        latency = int(round(elapsed))
        ids = _model_ids(payload, config) if status < 300 else None
        if ids is not None:
            return ConnectionResult(
                ok=True, reachable=True, cause="ok", params={"latency": latency, "count": len(ids)},
                latency_ms=latency, models=ids, status=status, working_base_url=base,
            )
        if tiny and config.provider_type in TINY_REQUEST_TYPES and (model := pick_model(config, None)):
            # No usable listing (or one this key may not read): what chat needs is the answer.
            return _check_tiny_request(client, config, model, seconds, status)
        if status in (401, 403):
            return ConnectionResult(
                ok=False, reachable=True, cause="unauthorized", params={"status": status}, latency_ms=latency, status=status
            )
        if status == 404 or (status < 300 and ids is None):
            if try_variants:
                for variant in base_url_variants(base):
                    try:
                        v_status, v_payload, _elapsed, _body = _get_models(client, variant, config)
                    except Exception:
                        continue
                    if v_status < 300 and _model_ids(v_payload, config) is not None:
                        return ConnectionResult(
                            ok=False, reachable=True, cause="base_url_variant",
                            params={"url": display_url(variant)}, latency_ms=latency,
                            models=_model_ids(v_payload, config), status=status,
                            suggested_base_url=variant, working_base_url=variant,
                        )
            cause = "models_not_found" if status == 404 else "invalid_response"
            return ConnectionResult(
                ok=False, reachable=True, cause=cause, params={"url": shown}, latency_ms=latency, status=status
            )
        return ConnectionResult(
            ok=False, reachable=True, cause="http_error",
            params={"status": status, "detail": scrub(upstream_detail(body_text), config) if body_text else ""},
            latency_ms=latency, status=status,
        )


def _check_tiny_request(client: SyncClient, config: ProviderConfig, model: str, seconds: float,
                        models_status: int) -> ConnectionResult:
    latency, error = tiny_request(client, config, model, seconds)
    configured = [str(m) for m in config.setting("models") or []] or None
    if error is None:
        return ConnectionResult(ok=True, reachable=True, cause="ok_tiny_request",
                                params={"latency": latency, "model": model, "status": models_status},
                                latency_ms=latency, models=configured, status=models_status,
                                working_base_url=config.base_url)
    return ConnectionResult(ok=False, reachable=True, cause="tiny_request_failed",
                            params={"model": model, "detail": error, "status": models_status},
                            latency_ms=latency, status=models_status)


def _check_program(config: ProviderConfig, command: str, seconds: float) -> ConnectionResult:
    """A program is tested by a one-word prompt: found on disk says nothing about its backend."""
    model = pick_model(config, None) or "default"
    with SyncClient(config, transport.Timeouts(connect=seconds, first_byte=seconds, idle=seconds)) as client:
        latency, error = tiny_request(client, config, model, seconds)
    if error is None:
        return ConnectionResult(ok=True, reachable=True, cause="program_ok",
                                params={"command": command, "model": model, "latency": latency},
                                latency_ms=latency, models=list(config.setting("models") or []))
    return ConnectionResult(ok=False, reachable=False, cause="program_failed",
                            params={"command": command, "model": model, "detail": error}, latency_ms=latency)


def _config_of(provider: Any) -> ProviderConfig | ConnectionResult:
    from ..crypto import DecryptionError
    from ..routing import provider_config

    deferred = provider.get_deferred_fields() if hasattr(provider, "get_deferred_fields") else set()
    if deferred & {"api_key", "extra_headers", "settings", "base_url"}:
        provider = type(provider).objects.get(pk=provider.pk)  # a list page defers the secrets
    try:
        return provider_config(provider)
    except DecryptionError:
        return ConnectionResult(ok=False, reachable=False, cause="secret_error")


def check_connection(provider: Any, *, timeout: float | None = None, tiny: bool = True) -> ConnectionResult:
    """Test connection for a ``Provider`` row."""
    config = _config_of(provider)
    if isinstance(config, ConnectionResult):
        return config
    return check_config(config, timeout=timeout, tiny=tiny)


def check_many(
    providers: list[Any], *, timeout: float | None = None, workers: int = 8,
    on_result: Callable[[Any, ConnectionResult], None] | None = None,
) -> list[tuple[Any, ConnectionResult]]:
    """Check several providers at once, in threads; results in the given order.

    Rows are read and secrets decrypted here, in the caller's thread (the ORM
    stays out of the workers); messages render in the caller's language."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from django.utils import translation

    language = translation.get_language()
    configs = [_config_of(p) for p in providers]

    def one(config: ProviderConfig | ConnectionResult) -> ConnectionResult:
        if isinstance(config, ConnectionResult):
            return config
        with translation.override(language):
            return check_config(config, timeout=timeout)

    results: dict[int, ConnectionResult] = {}
    with ThreadPoolExecutor(max_workers=min(workers, max(1, len(providers)))) as pool:
        futures = {pool.submit(one, c): i for i, c in enumerate(configs)}
        for future in as_completed(futures):
            index = futures[future]
            results[index] = future.result()
            if on_result is not None:
                on_result(providers[index], results[index])
    return [(p, results[i]) for i, p in enumerate(providers)]


def fetch_models(provider: Any, *, timeout: float | None = None) -> tuple[ConnectionResult, list[str]]:
    """What the backend reports (the connection result and the model ids, possibly empty)."""
    result = check_connection(provider, timeout=timeout, tiny=False)
    return result, list(result.models or [])


# -- capability probe ----------------------------------------------------------------


@dataclass
class StreamOutcome:
    status: int | None = None
    error: str | None = None  # a short, secret-free description
    body: str = ""
    chunks: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False
    finished: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 300 and self.error is None

    def deltas(self) -> list[dict[str, Any]]:
        out = []
        for c in self.chunks:
            for choice in c.get("choices") or []:
                if isinstance(choice, dict) and isinstance(choice.get("delta"), dict):
                    out.append(choice["delta"])
        return out


def upstream_detail(body: str) -> str:
    try:
        parsed = json.loads(body)
    except ValueError:
        return body.strip()[:200]
    if isinstance(parsed, dict):
        err = parsed.get("error", parsed)
        if isinstance(err, dict):
            message = err.get("message") or err.get("detail")
            if message:
                return str(message)[:200]
        elif isinstance(err, str):
            return err[:200]
    return body.strip()[:200]


def _stream_chat(client: SyncClient, base: str, config: ProviderConfig, body: dict[str, Any],
                 timeout: float) -> StreamOutcome:
    out = StreamOutcome()
    # The provider's request shaping applies, so the probe sees what clients get.
    payload = shape_request(body, config.settings)
    try:
        response = client.open("POST", _url(base, "/chat/completions", config), headers=_headers(config, stream=True),
                               body=json.dumps(payload).encode())
        try:
            out.status = response.status
            if response.status >= 300:
                out.body = response.read(transport.ERROR_BODY_LIMIT)[:4096].decode("utf-8", "replace")
                return out
            decoder = SSEDecoder(settings.GATEWAY_UPSTREAM_MAX_EVENT_BYTES)
            for raw in response.iter_bytes():
                for event in decoder.feed(raw):
                    if event.data == b"[DONE]":
                        out.done = True
                        return out
                    try:
                        data = json.loads(event.data)
                    except ValueError:
                        out.error = "malformed event"
                        return out
                    if isinstance(data, dict) and data.get("error"):
                        out.error = upstream_detail(event.data.decode("utf-8", "replace"))
                        return out
                    if isinstance(data, dict):
                        out.chunks.append(data)
                        for choice in data.get("choices") or []:
                            if isinstance(choice, dict) and choice.get("finish_reason"):
                                out.finished = True
                    if len(out.chunks) > MAX_EVENTS:
                        return out
        finally:
            response.close()
    except Exception as exc:
        cause, params = classify(exc, base, timeout)
        out.error = describe(cause, params)
    return out


def _mentions(body: str, word: str) -> bool:
    return word in body.lower()


def pick_model(config: ProviderConfig, listed: list[str] | None) -> str | None:
    default = config.setting("default_model")
    if default:
        return str(default)
    for key in ("allowed_models", "models"):
        values = config.setting(key) or []
        if values:
            return str(values[0])
    if listed:
        return listed[0]
    return None


TEST_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Return the current time in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def scrub(text: str, config: ProviderConfig) -> str:
    """``text`` without any of the provider's secrets (upstreams sometimes echo a key back)."""
    return redact_for(text, config)


def probe_config(config: ProviderConfig, *, timeout: float | None = None) -> ProbeReport:
    """Run the checklist against ``config``'s backend."""
    report = _probe_config(config, timeout=timeout)
    for item in report.items:
        item.params = {k: scrub(v, config) if isinstance(v, str) else v for k, v in item.params.items()}
    return report


def _probe_config(config: ProviderConfig, *, timeout: float | None = None) -> ProbeReport:
    connection = check_config(config, timeout=timeout)
    items: list[ProbeItem] = []
    if connection.suggested_base_url:
        items.append(ProbeItem("base_url", "warn", connection.cause, connection.params,
                               {"base_url": connection.suggested_base_url}))
    if config.provider_type not in OPENAI_COMPATIBLE:
        items.append(ProbeItem("models", "ok" if connection.ok else "fail", connection.cause, connection.params))
        items.append(ProbeItem("stream", "skip", "not_openai"))
        return ProbeReport(connection=connection, items=items)
    if not connection.reachable:
        items.append(ProbeItem("models", "fail", connection.cause, connection.params))
        for key in ("stream", "stream_usage", "tool_index", "reasoning", "max_tokens"):
            items.append(ProbeItem(key, "skip", "skipped_unreachable"))
        return ProbeReport(connection=connection, items=items)
    if connection.models is not None:
        items.append(ProbeItem("models", "ok", "models_ok", {"count": len(connection.models)}))
    elif connection.cause == "unauthorized":
        items.append(ProbeItem("models", "fail", connection.cause, connection.params))
    else:
        items.append(ProbeItem("models", "warn", "models_missing"))

    model = pick_model(config, connection.models)
    if not model:
        for key in ("stream", "stream_usage", "tool_index", "reasoning", "max_tokens"):
            items.append(ProbeItem(key, "skip", "no_model"))
        return ProbeReport(connection=connection, items=items)

    base = connection.working_base_url or config.base_url
    seconds = _timeout(config, timeout)
    messages = [{"role": "user", "content": "Say hello in one word."}]
    with _client(config, seconds) as client:
        # 1. A streamed chat, with max_tokens (and max_completion_tokens if that is refused).
        token_param = "max_tokens"
        first = _stream_chat(client, base, config, {
            "model": model, "messages": messages, "stream": True, "max_tokens": PROBE_MAX_TOKENS,
        }, seconds)
        max_item = ProbeItem("max_tokens", "ok", "max_tokens_ok")
        if first.status == 400 and (_mentions(first.body, "max_tokens") or _mentions(first.body, "max_completion_tokens")):
            retry = _stream_chat(client, base, config, {
                "model": model, "messages": messages, "stream": True, "max_completion_tokens": PROBE_MAX_TOKENS,
            }, seconds)
            if retry.ok:
                token_param = "max_completion_tokens"
                # Renamed, not dropped: the client's cap on the answer must still hold.
                max_item = ProbeItem("max_tokens", "warn", "max_completion_tokens_rename", {},
                                     {"settings": {"rename_params": {"max_tokens": "max_completion_tokens"}}})
                first = retry
        params = {"model": model}
        if first.ok and first.chunks:
            stream_item = ProbeItem("stream", "ok" if (first.done or first.finished) else "warn",
                                    "stream_ok" if (first.done or first.finished) else "stream_no_done",
                                    {**params, "events": len(first.chunks)})
        elif first.ok and first.error is None:
            stream_item = ProbeItem("stream", "fail", "stream_empty", params)
        elif first.status is not None and first.status >= 300:
            stream_item = ProbeItem("stream", "fail", "stream_http",
                                    {**params, "status": first.status, "detail": upstream_detail(first.body)})
        else:
            stream_item = ProbeItem("stream", "fail", "stream_broken", {**params, "detail": first.error or ""})
        items.append(stream_item)
        if stream_item.status == "fail":
            for key in ("stream_usage", "tool_index", "reasoning"):
                items.append(ProbeItem(key, "skip", "skipped_stream"))
            if max_item.status == "ok":
                max_item = ProbeItem("max_tokens", "skip", "skipped_stream")
            items.append(max_item)
            return ProbeReport(connection=connection, items=items, model=model)
        outcomes = [first]

        # 2. stream_options.include_usage
        usage = _stream_chat(client, base, config, {
            "model": model, "messages": messages, "stream": True, token_param: PROBE_MAX_TOKENS,
            "stream_options": {"include_usage": True},
        }, seconds)
        if usage.ok:
            outcomes.append(usage)
            reported = [c["usage"] for c in usage.chunks if isinstance(c.get("usage"), dict)]
            if reported:
                total = reported[-1].get("total_tokens")
                items.append(ProbeItem("stream_usage", "ok", "usage_ok", {"total": total if total is not None else "?"}))
            else:
                items.append(ProbeItem("stream_usage", "warn", "usage_missing"))
        elif usage.status is not None and 400 <= usage.status < 500:
            items.append(ProbeItem("stream_usage", "warn", "usage_rejected", {"status": usage.status},
                                   {"settings": {"drop_params": ["stream_options"]}}))
        else:
            items.append(ProbeItem("stream_usage", "warn", "stream_broken",
                                   {**params, "detail": usage.error or upstream_detail(usage.body)}))

        # 3. Streamed tool calls carry an index.
        tools = _stream_chat(client, base, config, {
            "model": model, "stream": True, token_param: 64, "tools": [TEST_TOOL], "tool_choice": "auto",
            "messages": [{"role": "user", "content": "What time is it in Hanoi? Use the get_time tool."}],
        }, seconds)
        if tools.ok:
            outcomes.append(tools)
            calls = [tc for d in tools.deltas() for tc in (d.get("tool_calls") or []) if isinstance(tc, dict)]
            if not calls:
                items.append(ProbeItem("tool_index", "warn", "tools_not_called"))
            elif all(isinstance(tc.get("index"), int) for tc in calls):
                items.append(ProbeItem("tool_index", "ok", "tools_ok"))
            else:
                items.append(ProbeItem("tool_index", "warn", "tools_no_index"))
        elif tools.status is not None and tools.status >= 300:
            items.append(ProbeItem("tool_index", "warn", "tools_rejected", {"status": tools.status}))
        else:
            items.append(ProbeItem("tool_index", "warn", "stream_broken", {**params, "detail": tools.error or ""}))

    # 4. Reasoning field name, from every answer seen.
    fields = {k for o in outcomes for d in o.deltas() for k in REASONING_FIELDS if d.get(k)}
    renamed = config.setting("reasoning_field")
    if fields and renamed in REASONING_FIELDS:
        # What clients get: the gateway renames the other field to this one.
        items.append(ProbeItem("reasoning", "ok", "reasoning_renamed", {"field": renamed}))
    elif "reasoning_content" in fields:
        items.append(ProbeItem("reasoning", "ok", "reasoning_content"))
    elif "reasoning" in fields:
        items.append(ProbeItem("reasoning", "warn", "reasoning_rename", {},
                               {"settings": {"reasoning_field": "reasoning_content"}}))
    else:
        items.append(ProbeItem("reasoning", "ok", "reasoning_none"))
    items.append(max_item)
    return ProbeReport(connection=connection, items=items, model=model)


def probe_provider(provider: Any, *, timeout: float | None = None) -> ProbeReport:
    config = _config_of(provider)
    if isinstance(config, ConnectionResult):
        return ProbeReport(connection=config, items=[ProbeItem("models", "fail", config.cause)])
    return probe_config(config, timeout=timeout)


def apply_suggestions(provider: Any, suggestion: dict[str, Any]) -> Any:
    """Merge a probe's suggested change into the provider, through the service layer."""
    from .. import audit
    from ..services import provider_update

    kwargs: dict[str, Any] = {}
    if isinstance(suggestion.get("settings"), dict) and suggestion["settings"]:
        kwargs["settings"] = merge_settings(provider.settings or {}, suggestion["settings"])
    if isinstance(suggestion.get("base_url"), str) and suggestion["base_url"]:
        kwargs["base_url"] = suggestion["base_url"]
    if not kwargs:
        return provider
    with audit.acting(door="probe-apply"):
        return provider_update(provider=provider, **kwargs)
