"""The one place that knows what a provider's secrets are, and masks them.

Some upstreams (proxies, self-hosted servers, programs that print their
environment) echo the credential they were given in their error text; the
gateway relays upstream error messages to clients and writes causes to its log,
so everything read back from an upstream goes through here first. A provider's
secrets are its API key, its extra header values (and the token of a
"Bearer <token>" value), its ``extra_query`` values and its ``env`` values, each
also in the percent-encoded forms it takes in a URL.

- ``redact(text)``: every provider of the routing table in use (/v1 errors);
- ``redact_for(text, config)``: one provider, table or not (probe reports, a
  program's stderr);
- ``RedactingFilter``: on the log handlers (settings.LOGGING), so no log line
  or traceback the gateway writes carries a secret either.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, quote_plus

from yarl import URL

MASK = "***"
_MIN_LENGTH = 6  # shorter values are not credentials, and masking them would garble text

_cache: tuple[Any, re.Pattern[str] | None] = (None, None)


def secret_values(config: Any) -> set[str]:
    """Every string of ``config`` (a ProviderConfig) that must never be shown."""
    found: set[str] = set()

    def add(value: Any) -> None:
        if isinstance(value, str) and len(value) >= _MIN_LENGTH:
            plus = quote_plus(value, safe="")
            # Also as the upstream client sends it: yarl re-normalises a query string
            # (a "%2F" goes out as "/"), so that is the form an upstream may echo.
            sent = URL("http://h/?v=" + plus).raw_query_string[2:]
            found.update({value, quote(value, safe=""), plus, sent})

    add(config.api_key)
    for value in (config.extra_headers or {}).values():
        add(value)
        if isinstance(value, str):
            add(value.split(" ", 1)[-1])  # "Bearer <token>": the token alone may be echoed too
    for group in ("extra_query", "env"):
        values = config.setting(group) or {}
        if isinstance(values, dict):
            for value in values.values():
                add(value)
    return found


def compile_secrets(values: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted(set(values), key=len, reverse=True)  # the longest first: no half-masked secret
    return re.compile("|".join(re.escape(s) for s in ordered)) if ordered else None


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` replaced by ``***``."""
    if not text:
        return text
    pattern = compile_secrets(s for s in secrets if s and len(s) >= _MIN_LENGTH)
    return pattern.sub(MASK, text) if pattern is not None else text


def redact_for(text: str, config: Any) -> str:
    """``text`` with every secret of one provider masked."""
    return mask(text, secret_values(config))


def _pattern(snapshot: Any) -> re.Pattern[str] | None:
    global _cache
    if snapshot is None:
        return None
    if _cache[0] is snapshot:
        return _cache[1]
    secrets: set[str] = set()
    for config in snapshot.providers.values():
        secrets |= secret_values(config)
    pattern = compile_secrets(secrets)
    _cache = (snapshot, pattern)
    return pattern


def _no_table() -> Any:
    return None


# Where the routing table in use is found; ``routing.py`` says so when it is
# imported (this module sits below it and never loads a table itself).
_table_in_use: Callable[[], Any] = _no_table


def use_table(current: Callable[[], Any]) -> None:
    """``current()`` returns the routing table in use (or None): what ``redact`` masks."""
    global _table_in_use
    _table_in_use = current


def redact(text: str) -> str:
    """``text`` with every provider secret of the current routing table masked."""
    if not text:
        return text
    pattern = _pattern(_table_in_use())
    return pattern.sub(MASK, text) if pattern is not None else text


class RedactingFilter(logging.Filter):
    """Masks provider secrets in a record before its handler writes it.

    A safety net: the gateway's own log lines carry causes, not upstream text, but
    a traceback or a third-party library may quote a URL with its query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler  # noqa: BLE001
            return True
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True
