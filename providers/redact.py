"""Keep provider secrets out of upstream-derived error text.

Some upstreams (proxies, self-hosted servers) echo the credential they rejected
in their error message; the gateway relays upstream error messages to clients,
so it masks every provider secret it knows first. Only error paths call this;
the list of secrets is built once per routing table.
"""
from __future__ import annotations

import re
from typing import Any

MASK = "***"
_MIN_LENGTH = 6  # shorter values are not credentials, and masking them would garble text

_cache: tuple[Any, re.Pattern[str] | None] = (None, None)


def _pattern(snapshot: Any) -> re.Pattern[str] | None:
    global _cache
    if snapshot is None:
        return None
    if _cache[0] is snapshot:
        return _cache[1]
    secrets: set[str] = set()
    for config in snapshot.providers.values():
        if config.api_key and len(config.api_key) >= _MIN_LENGTH:
            secrets.add(config.api_key)
        for value in (config.extra_headers or {}).values():
            if isinstance(value, str) and len(value) >= _MIN_LENGTH:
                secrets.add(value)
                # "Bearer <token>" style headers: the token alone may be echoed too.
                token = value.split(" ", 1)[-1]
                if len(token) >= _MIN_LENGTH:
                    secrets.add(token)
    pattern = re.compile("|".join(re.escape(s) for s in sorted(secrets, key=len, reverse=True))) if secrets else None
    _cache = (snapshot, pattern)
    return pattern


def redact(text: str) -> str:
    """``text`` with every provider secret of the current routing table masked."""
    if not text:
        return text
    from . import routing

    pattern = _pattern(routing._state.snapshot)  # the table in use; never loads one
    return pattern.sub(MASK, text) if pattern is not None else text
