"""Validation of a provider's ``settings`` object against its type.

Each setting has one checker; the set a type accepts depends on its transport
(HTTP or subprocess) plus the extra keys its catalog row names.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from . import program_policy
from .catalog import ProviderType

Checker = Callable[[Any], str | None]


def _positive_number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return _("Must be a positive number.")
    return None


def _positive_int(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return _("Must be a whole number of at least 1.")
    return None


def _non_negative_int(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return _("Must be a whole number of at least 0.")
    return None


def _bool(value: Any) -> str | None:
    if not isinstance(value, bool):
        return _("Must be true or false.")
    return None


def _string(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return _("Must be a non-empty string.")
    return None


def _string_list(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        return _("Must be a list of non-empty strings.")
    return None


def _string_map(value: Any) -> str | None:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return _("Must be an object whose values are strings.")
    return None


def _object(value: Any) -> str | None:
    if not isinstance(value, dict):
        return _("Must be an object.")
    return None


def _reasoning_field(value: Any) -> str | None:
    if value not in ("reasoning_content", "reasoning", ""):
        return _("Must be “reasoning_content”, “reasoning” or empty (as the backend sends it).")
    return None


def _permission_policy(value: Any) -> str | None:
    if value not in ("deny", "allow"):
        return _("Must be “deny” or “allow”.")
    return None


COMMON: dict[str, Checker] = {
    "models": _string_list,  # the configured model list
    "allowed_models": _string_list,  # allowlist: only these are exposed and routed
    "default_model": _string,
    "max_concurrency": _positive_int,
}

HTTP: dict[str, Checker] = {
    "connect_timeout": _positive_number,
    "read_timeout": _positive_number,
    "first_byte_timeout": _positive_number,  # issue 12: long-thinking models need a long one
    "idle_read_timeout": _positive_number,
    "max_connections": _positive_int,
    "verify_tls": _bool,
    "ca_bundle": _string,
    "direct": _bool,  # ignore HTTP(S)_PROXY from the environment
    "drop_params": _string_list,
    "rename_params": _string_map,  # e.g. {"max_tokens": "max_completion_tokens"}
    "extra_body": _object,
    "extra_query": _string_map,
    "retries": _non_negative_int,
}

SUBPROCESS: dict[str, Checker] = {
    "command": _string,
    "args": _string_list,
    "cwd": _string,
    "env": _string_map,
    "timeout": _positive_number,
}

EXTRA: dict[str, Checker] = {
    "anthropic_version": _string,
    "default_max_tokens": _positive_int,
    "account_id": _string,
    "reasoning_field": _reasoning_field,
    "normalize_chunks": _bool,
    "permission_policy": _permission_policy,
}

# Accepted once for a pooled mode that was never built; refused now with a reason
# rather than kept silently (issue 15). Each request starts its own agent.
UNSUPPORTED: dict[str, tuple[str, ...]] = {"acp": ("pool_size", "idle_timeout")}


def checkers_for(ptype: ProviderType) -> dict[str, Checker]:
    checkers = dict(COMMON)
    checkers.update(HTTP if ptype.transport == "http" else SUBPROCESS)
    for key in ptype.extra_settings:
        checkers[key] = EXTRA[key]
    return checkers


def validate_settings(ptype: ProviderType, value: Any) -> dict[str, Any]:
    """Return the settings as given if they fit ``ptype``; raise ValidationError otherwise.

    Errors are keyed by setting name so the API can show each one next to its key.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(_("Settings must be a JSON object."))
    checkers = checkers_for(ptype)
    errors: dict[str, str] = {}
    for key, item in value.items():
        checker = checkers.get(key)
        if key in UNSUPPORTED.get(ptype.key, ()):
            errors[key] = _("Not supported: every request starts its own agent process with a fresh session, "
                            "so there is no pool to size or keep.")
            continue
        if checker is None:
            errors[key] = _("Unknown setting for the type “%(type)s”. Valid settings: %(valid)s.") % {
                "type": ptype.key,
                "valid": ", ".join(sorted(checkers)),
            }
            continue
        problem = checker(item)
        if problem:
            errors[key] = problem
    allowed = value.get("allowed_models")
    default = value.get("default_model")
    if "default_model" not in errors and isinstance(allowed, list) and allowed and default and default not in allowed:
        errors["default_model"] = _("The default model must be one of the allowed models.")
    if ptype.transport == "subprocess":
        # What the deployment lets a program-based provider run (GATEWAY_ALLOWED_COMMANDS...).
        for key, problem in program_policy.problems(ptype.key, effective_settings(ptype, value)).items():
            errors.setdefault(key, problem)
    if errors:
        raise ValidationError([f"{k}: {v}" for k, v in sorted(errors.items())], code="invalid_settings")
    return value


def effective_settings(ptype: ProviderType, value: dict[str, Any] | None) -> dict[str, Any]:
    """The type's defaults overlaid with the provider's own settings."""
    merged = dict(ptype.default_settings)
    merged.update(value or {})
    return merged
