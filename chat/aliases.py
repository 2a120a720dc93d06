"""The operator's model alias table (``GATEWAY_MODEL_ALIASES``), applied to the
``model`` of every /v1 request before it is resolved to ``<provider>/<model>``.

Clients such as Claude Code ask for their own model ids (``claude-opus-4-...``,
a ``claude-haiku-...`` for background work); the table maps them to gateway
targets so those clients need no flags. The setting is a JSON object
(``{"claude-*haiku*": "local/small"}``) or a comma list of ``pattern=target``;
patterns are ``fnmatch`` globs tried in the order given, the first match wins,
and a name matching none is used as sent. A target is any model a client could
name: ``<provider>/<model>``, a bare ``<provider>`` (its default model), or a
route's name (routes resolve after this table). The table is global on purpose:
per-key differences are what provider restrictions and routes are for.
"""
from __future__ import annotations

import json
from fnmatch import fnmatchcase
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=4)
def parse(raw: str) -> tuple[tuple[str, str], ...]:
    raw = raw.strip()
    if not raw:
        return ()
    if raw.startswith("{"):
        try:
            table = json.loads(raw)
        except ValueError as exc:
            raise ImproperlyConfigured(f"GATEWAY_MODEL_ALIASES is not valid JSON: {exc}") from None
        pairs = list(table.items())
    else:
        pairs = []
        for item in raw.split(","):
            pattern, sep, target = item.partition("=")
            if item.strip():
                if not sep:
                    raise ImproperlyConfigured(f"GATEWAY_MODEL_ALIASES entry {item.strip()!r} is not pattern=target")
                pairs.append((pattern, target))
    out = []
    for pattern, target in pairs:
        if not isinstance(target, str) or not str(pattern).strip() or not target.strip() or any(
                c.isspace() for c in target.strip()):
            raise ImproperlyConfigured(
                f"GATEWAY_MODEL_ALIASES: {pattern!r} must map to a model: <provider>/<model>, <provider> or a route")
        out.append((str(pattern).strip(), target.strip()))
    return tuple(out)


def apply(model: object) -> object:
    """``model`` after the alias table (unchanged when no pattern matches)."""
    if not isinstance(model, str):
        return model
    for pattern, target in parse(settings.GATEWAY_MODEL_ALIASES):
        if fnmatchcase(model, pattern):
            return target
    return model
