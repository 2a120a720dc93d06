"""The checks' HTTP plumbing: the upstream client with short, bounded waits, the
headers and URLs the type's adapter would use, resolving the host under the URL
policy, naming a transport failure, and one streamed chat read event by event.

Synchronous (the one upstream client through ``providers.transport.sync``), so
the admin, the REST API and the management command call it the same way."""
from __future__ import annotations

import ipaddress
import json
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings

from .. import catalog, url_policy
from ..adapters.base import ProviderConfig
from ..adapters.openai_compat import shape_request
from ..transport import client as transport
from ..transport import errors as transport_errors
from ..transport.sse import SSEDecoder
from ..transport.sync import SyncClient
from .messages import describe
from .results import ConnectionResult

# A check must answer quickly even when the provider allows minutes per request.
DEFAULT_TIMEOUT = 10.0
MAX_EVENTS = 400


def display_url(url: str) -> str:
    """A URL safe to show: no credentials, no query (it may carry a key)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def check_timeout(config: ProviderConfig, timeout: float | None) -> float:
    limit = float(timeout or DEFAULT_TIMEOUT)
    for key in ("read_timeout", "connect_timeout"):
        value = config.setting(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < limit:
            limit = float(value)
    return limit


def check_client(config: ProviderConfig, timeout: float) -> SyncClient:
    """The upstream client for a check, every wait bounded by ``timeout``. Raises
    ``OSError``/``ssl.SSLError`` for an unreadable or invalid ``ca_bundle``."""
    if config.setting("verify_tls", True) is not False and config.setting("ca_bundle"):
        ssl.create_default_context(cafile=config.setting("ca_bundle"))
    return SyncClient(config, transport.Timeouts(connect=timeout, first_byte=timeout, idle=timeout))


def check_headers(config: ProviderConfig, *, stream: bool = False) -> dict[str, str]:
    """What the type's adapter sends: the allowed extra headers, then its auth headers."""
    headers = {"Content-Type": "application/json", **transport.allowed_extra_headers(config.extra_headers),
               **catalog.adapter_class(config.provider_type).auth_headers(config)}
    if stream:
        headers["Accept"] = "text/event-stream"
    return headers


def check_url(base: str, path: str, config: ProviderConfig) -> str:
    query = config.setting("extra_query") or {}
    return f"{base.rstrip('/')}{path}" + (("?" + urlencode(query)) if query else "")


def address_problem(url: str, config: ProviderConfig) -> ConnectionResult | None:
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


def stream_chat(client: SyncClient, base: str, config: ProviderConfig, body: dict[str, Any],
                 timeout: float) -> StreamOutcome:
    out = StreamOutcome()
    # The provider's request shaping applies, so the probe sees what clients get.
    payload = shape_request(body, config.settings)
    try:
        response = client.open("POST", check_url(base, "/chat/completions", config),
                               headers=check_headers(config, stream=True),
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
    except Exception as exc:  # noqa: BLE001 -- every transport failure is a finding
        cause, params = classify(exc, base, timeout)
        out.error = describe(cause, params)
    return out
