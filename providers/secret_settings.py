"""The settings whose values are secrets: ``extra_query`` (some vendors take the
key as ``?key=...``) and ``env`` (a program's environment carries tokens).

They live encrypted in ``Provider.secret_settings``, never in the plaintext
``settings`` column; ``routing.provider_config`` merges them back, so adapters read
``config.setting("extra_query")`` as before. Writes are per name, so a client that
cannot read the values can still change one without resending the others:

- a map left out of the settings keeps every stored name;
- ``{"extra_query": {"key": "v"}}`` sets or replaces that name, others are kept;
- ``{"extra_query": {"key": null}}`` removes that name;
- ``{"extra_query": null}`` removes the whole map.

Reads show names and a last-4 hint (``hints``), never a value.
"""
from __future__ import annotations

from typing import Any

SECRET_MAPS = ("extra_query", "env")


def split(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain settings, secret maps) of a full settings object."""
    plain = {k: v for k, v in settings.items() if k not in SECRET_MAPS}
    secret = {k: settings[k] for k in SECRET_MAPS if k in settings}
    return plain, secret


def apply(stored: dict[str, Any] | None, given: dict[str, Any]) -> dict[str, Any]:
    """The full settings after writing ``given`` over the stored secret maps.

    A value that is not an object (or an entry that is neither a string nor null)
    is passed through as given, so validation reports it."""
    result = {k: v for k, v in given.items() if k not in SECRET_MAPS}
    stored = stored or {}
    for name in SECRET_MAPS:
        if name not in given:
            if stored.get(name):
                result[name] = dict(stored[name])
            continue
        value = given[name]
        if value is None:
            continue
        if not isinstance(value, dict):
            result[name] = value
            continue
        merged = dict(stored.get(name) or {})
        for key, item in value.items():
            if item is None:
                merged.pop(key, None)
            else:
                merged[key] = item
        if merged:
            result[name] = merged
    return result


def hint(value: Any) -> str:
    """The last 4 characters of a value long enough to keep 4 back, else ""."""
    return value[-4:] if isinstance(value, str) and len(value) >= 8 else ""


def hints(maps: dict[str, Any] | None) -> dict[str, dict[str, str]]:
    """``{"extra_query": {"key": "abcd"}, ...}``: names and hints of stored secret values."""
    return {name: {key: hint(value) for key, value in sorted(values.items())}
            for name, values in sorted((maps or {}).items()) if isinstance(values, dict)}
