"""The connection test's tiny real request, for types without a model listing.

A ``/models`` call says nothing about a program-based provider (the program may
start while its backend is unreachable) nor about a backend that has no listing
(Anthropic-compatible proxies, the Codex backend). For those the connection test
sends what a client would: a one-word prompt through the provider's own adapter,
so headers, translation and the program's own error events are exactly those of
``/v1``, with every wait bounded by the check's short timeout.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any

from .. import catalog
from ..adapters.base import ProviderConfig, UpstreamError
from ..redact import redact_for
from ..transport.sync import SyncClient

PROMPT = "Reply with the single word OK."


def _bounded(config: ProviderConfig, seconds: float) -> ProviderConfig:
    """``config`` with every wait of one request no longer than ``seconds`` and no retries."""
    ptype = catalog.get_type(config.provider_type)
    if ptype.transport == "subprocess":
        current = config.setting("timeout")
        limit = min(float(current), seconds) if isinstance(current, (int, float)) and current > 0 else seconds
        change: dict[str, Any] = {"timeout": limit}
    else:
        change = {key: seconds for key in ("connect_timeout", "first_byte_timeout", "idle_read_timeout")}
        change["retries"] = 0
    return dataclasses.replace(config, settings={**config.settings, **change})


def tiny_body(config: ProviderConfig, model: str) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "stream": False}
    if catalog.get_type(config.provider_type).wire == "anthropic_messages":
        body["max_tokens"] = 1  # the Messages API requires one; the smallest costs least
    # codex: a minimal Responses call, without max_output_tokens (the ChatGPT backend refuses it);
    # programs: a prompt is all they take.
    return body


def tiny_request(client: SyncClient, config: ProviderConfig, model: str, seconds: float) -> tuple[int, str | None]:
    """(milliseconds, None) when the provider answered a one-word prompt with
    ``model``; (milliseconds, a redacted reason) when it did not."""
    bounded = _bounded(config, seconds)
    adapter = catalog.adapter_class(config.provider_type)(bounded)
    started = time.perf_counter()
    try:
        client.run(adapter.complete(tiny_body(config, model)))
        error = None
    except UpstreamError as exc:
        error = redact_for(exc.message, config)
    except Exception as exc:  # a finding, never a crash of the admin page  # noqa: BLE001
        error = redact_for(f"{type(exc).__name__}: {exc}", config)[:300]
    finally:
        client.run(adapter.aclose())
    return round((time.perf_counter() - started) * 1000), error
