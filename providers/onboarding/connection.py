"""The connection test: does the backend answer, how fast, with which models, or
why not (in words, with a fix where one is likely: a mistyped base URL).

An ``openai_chat`` backend is asked for ``/models``; a backend whose chat may
work without a usable listing (``anthropic_messages``, ``openai_responses``) and
a program are sent a tiny real request (``probe_request.py``). Which is which
comes from the catalog's ``wire``, never from a type's key."""
from __future__ import annotations

import json
import shutil
import ssl
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .. import catalog
from ..adapters.base import ProviderConfig
from ..adapters.openai_compat import normalise_model_list
from ..redact import redact_for
from ..transport import client as transport
from ..transport.sync import SyncClient
from .probe_request import tiny_request
from .results import ConnectionResult
from .upstream import (
    address_problem,
    check_client,
    check_headers,
    check_timeout,
    check_url,
    classify,
    display_url,
    upstream_detail,
)

# Wires whose chat may work without a usable /models listing: tested by a tiny request.
TINY_REQUEST_WIRES = ("anthropic_messages", "openai_responses")
# A program starts, then talks to its backend: a little longer than an HTTP check.
PROGRAM_TIMEOUT = 30.0


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
    status, body = client.get(check_url(base, "/models", config), headers=check_headers(config))
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
    seconds = check_timeout(config, timeout)
    problem = address_problem(base, config)
    if problem is not None:
        return problem
    shown = display_url(check_url(base, "/models", config).split("?")[0])
    try:
        client = check_client(config, seconds)
    except (OSError, ssl.SSLError):  # an unreadable or invalid ca_bundle
        return ConnectionResult(ok=False, reachable=False, cause="ca_bundle",
                                params={"path": str(config.setting("ca_bundle"))})
    with client:
        try:
            status, payload, elapsed, body_text = _get_models(client, base, config)
        except Exception as exc:  # every transport failure is a finding, not a crash  # noqa: BLE001
            cause, params = classify(exc, base, seconds)
            return ConnectionResult(ok=False, reachable=False, cause=cause, params=params)
        latency = round(elapsed)
        ids = _model_ids(payload, config) if status < 300 else None
        if ids is not None:
            return ConnectionResult(
                ok=True, reachable=True, cause="ok", params={"latency": latency, "count": len(ids)},
                latency_ms=latency, models=ids, status=status, working_base_url=base,
            )
        if tiny and ptype is not None and ptype.wire in TINY_REQUEST_WIRES and (model := pick_model(config, None)):
            # No usable listing (or one this key may not read): what chat needs is the answer.
            return _check_tiny_request(client, config, model, seconds, status)
        if status in (401, 403):
            return ConnectionResult(
                ok=False, reachable=True, cause="unauthorized", params={"status": status}, latency_ms=latency,
                status=status,
            )
        if status == 404 or (status < 300 and ids is None):
            if try_variants:
                for variant in base_url_variants(base):
                    try:
                        v_status, v_payload, _elapsed, _body = _get_models(client, variant, config)
                    except Exception:  # noqa: BLE001 -- a variant that fails is just not the fix
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
            params={"status": status, "detail": redact_for(upstream_detail(body_text), config) if body_text else ""},
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


def config_of(provider: Any) -> ProviderConfig | ConnectionResult:
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
    config = config_of(provider)
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
    configs = [config_of(p) for p in providers]

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
