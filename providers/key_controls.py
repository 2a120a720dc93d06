"""What a gateway key may do beyond its providers: an expiry time, a model
allowlist with patterns, and request/token budgets per UTC day and month.

This module holds the rules every door shares (validation for the services, the
pattern matcher for the hot path); the counting of budgets is ``chat/budgets.py``.

Model patterns match the model id a client sends (``<provider>/<model>`` or a
route name such as ``chat-default``): ``*`` stands for any run of characters
(slashes included), every other character stands for itself, case-sensitive.
``vllm/*`` allows every model of provider ``vllm``; ``chat-default`` one route;
``*`` everything. An empty list allows every model the key's providers offer.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

MAX_PATTERNS = 100
MAX_PATTERN_LENGTH = 200
# Far beyond any real budget, well inside PostgreSQL's bigint.
MAX_BUDGET = 10**15
BUDGET_FIELDS = ("requests_per_day", "requests_per_month", "tokens_per_day", "tokens_per_month")
CONTROL_FIELDS = ("expires_at", "allowed_models", *BUDGET_FIELDS)
_BAD_PATTERN_CHAR = re.compile(r"[\s\x00-\x1f\x7f]")

ModelMatcher = Callable[[str], bool]


def compile_patterns(patterns: Iterable[str]) -> ModelMatcher | None:
    """One matcher for a list of patterns (None: the list is empty, every model is allowed).

    Exact ids are looked up in a set; patterns with ``*`` become one anchored regex."""
    exact: set[str] = set()
    globs: list[str] = []
    for pattern in patterns:
        if "*" in pattern:
            globs.append(".*".join(re.escape(part) for part in pattern.split("*")))
        else:
            exact.add(pattern)
    if not exact and not globs:
        return None
    if not globs:
        return exact.__contains__
    regex = re.compile("(?:" + "|".join(globs) + r")\Z", re.DOTALL)
    match = regex.match
    if not exact:
        return lambda model: match(model) is not None
    return lambda model: model in exact or match(model) is not None


def normalise_patterns(value: Any) -> tuple[list[str], list[str]]:
    """``allowed_models`` as given (a list, or text with one pattern per line or
    comma-separated) -> (patterns without blanks or repeats, error messages)."""
    if value is None:
        return [], []
    if isinstance(value, str):
        value = [part for line in value.splitlines() for part in line.split(",")]
    if not isinstance(value, (list, tuple)):
        return [], [_("Must be a list of model ids or patterns.")]
    patterns: list[str] = []
    errors: list[str] = []
    for item in value:
        if not isinstance(item, str):
            errors.append(_("Each entry must be a string."))
            continue
        item = item.strip()
        if not item or item in patterns:
            continue
        if len(item) > MAX_PATTERN_LENGTH:
            errors.append(_("“%(pattern)s…” is longer than %(limit)s characters.")
                          % {"pattern": item[:40], "limit": MAX_PATTERN_LENGTH})
        elif _BAD_PATTERN_CHAR.search(item) or any("\ud800" <= ch <= "\udfff" for ch in item):
            errors.append(_("“%(pattern)s” contains spaces or control characters; a model id has none.")
                          % {"pattern": item.encode("unicode_escape").decode("ascii")[:60]})
        elif item.startswith("/") or item.endswith("/") or "//" in item:
            errors.append(_("“%(pattern)s” is not a model id: write <provider>/<model>, <provider>/* or a route name.")
                          % {"pattern": item})
        else:
            patterns.append(item)
    if len(patterns) > MAX_PATTERNS:
        errors.append(_("At most %(limit)s entries.") % {"limit": MAX_PATTERNS})
    return patterns, errors


def validate_controls(
    *, expires_at: Any, allowed_models: Any, budgets: dict[str, Any], creating: bool,
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Check a key's controls; return (clean values, field errors).

    ``budgets`` maps names of ``BUDGET_FIELDS`` to an int or None (unlimited). A new
    key may not expire in the past; an existing one may (that expires it at once)."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    if expires_at is not None:
        if not isinstance(expires_at, datetime):
            errors["expires_at"] = [_("Enter a date and time.")]
        else:
            if timezone.is_naive(expires_at):
                expires_at = timezone.make_aware(expires_at, timezone.get_default_timezone())
            if creating and expires_at <= timezone.now():
                errors["expires_at"] = [_("The expiry time must be in the future.")]
    clean["expires_at"] = expires_at
    patterns, pattern_errors = normalise_patterns(allowed_models)
    if pattern_errors:
        errors["allowed_models"] = pattern_errors
    clean["allowed_models"] = patterns
    for name in BUDGET_FIELDS:
        value = budgets.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 1 <= value <= MAX_BUDGET):
            errors[name] = [_("Enter a whole number from 1 to %(max)s, or leave it empty for no limit.")
                            % {"max": MAX_BUDGET}]
        clean[name] = value
    return clean, errors
