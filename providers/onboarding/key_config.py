"""Gateway keys in the configuration file (``gateway_keys:``, beside ``providers:``):
their scope, rate limits, expiry, model allowlist and budgets, upserted by name
through ``services.gateway_key_create/update`` in the import's one transaction.

    gateway_keys:
      - name: team-a                      # slug, the key of the upsert
        key: {env: TEAM_A_GATEWAY_KEY}    # the secret, by reference: needed only to create the key
        providers: [vllm]                 # or all_providers: true (the default without providers)
        allowed_models: [vllm/*, chat-default]
        expires_at: 2027-01-01T00:00:00Z  # null: never
        rate_limit_rpm: 60                # null: the gateway default
        requests_per_day: 1000            # budgets over UTC days and months; null: unlimited
        tokens_per_month: 5000000

An entry is the whole truth for the fields it can hold: one left out takes its
default (no expiry, every model, no budget). The secret is never exported (an
``{env: ..., optional: true}`` placeholder stands in) and never changes through
an import: a ``key`` that resolves to another secret than the stored one is
refused (revoke the key and create a new one). Keys the file does not list are
left alone, and a revoked key's name cannot be reused.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from .. import key_controls, selectors, services
from ..gateway_keys import hash_gateway_key
from ..models import GatewayKey, Provider
from .config_problems import DRY_RUN_PLACEHOLDER, ConfigError, Problem, named_entries, refused

KEY_ENTRY_FIELDS = {"name", "key", "all_providers", "providers", "rate_limit_rpm", "rate_limit_tpm",
                    *key_controls.CONTROL_FIELDS}
_UNSET: Any = object()
# (reference, label, field) -> the resolved secret, None (none given) or _UNSET (a problem was recorded)
Resolve = Callable[[Any, str, str], Any]


def entry_label(index: int, name: str | None) -> str:
    if name:
        return _("gateway_keys[%(index)s] “%(name)s”") % {"index": index, "name": name}
    return _("gateway_keys[%(index)s]") % {"index": index}


@dataclass
class KeyEntry:
    index: int
    name: str
    raw_key: Any = None  # the resolved secret, or None
    all_providers: bool | None = None
    providers: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # rate limits and controls

    @property
    def label(self) -> str:
        return entry_label(self.index, self.name)


def _whole(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def parse(items: Any, *, resolve: Resolve, problems: list[Problem]) -> list[KeyEntry]:
    """The ``gateway_keys`` list, shape-checked; values are checked by the services on import."""

    if items is None:
        return []
    if not isinstance(items, list):
        problems.append(("", "gateway_keys", _("Must be a list of gateway keys.")))
        return []
    entries: list[KeyEntry] = []
    for index, name, label, raw in named_entries(items, label=entry_label, problems=problems,
                                                 not_an_object=_("Each gateway key must be an object."),
                                                 valid=KEY_ENTRY_FIELDS):
        entry = KeyEntry(index=index, name=name)
        if "key" in raw:
            entry.raw_key = resolve(raw["key"], label, "key")
        providers = raw.get("providers") or []
        if not isinstance(providers, list) or not all(isinstance(p, str) and p for p in providers):
            problems.append((label, "providers", _("Must be a list of provider names.")))
            providers = []
        entry.providers = providers
        all_providers = raw.get("all_providers")
        if all_providers is not None and not isinstance(all_providers, bool):
            problems.append((label, "all_providers", _("Must be true or false.")))
            all_providers = None
        entry.all_providers = all_providers
        for name_ in ("rate_limit_rpm", "rate_limit_tpm", *key_controls.BUDGET_FIELDS):
            value = raw.get(name_)
            if not _whole(value):
                problems.append((label, name_, _("Must be a whole number or null.")))
                value = None
            entry.values[name_] = value
        expires = raw.get("expires_at")
        if isinstance(expires, date) and not isinstance(expires, datetime):  # YAML reads 2027-01-01 as a date
            expires = datetime(expires.year, expires.month, expires.day, tzinfo=UTC)
        if isinstance(expires, str):
            try:
                expires = parse_datetime(expires.replace("Z", "+00:00")) or _UNSET
            except ValueError:
                expires = _UNSET
        if expires is not None and not isinstance(expires, datetime):
            problems.append((label, "expires_at", _("Must be an ISO 8601 date and time, or null.")))
            expires = None
        if isinstance(expires, datetime) and expires.tzinfo is None:  # no zone given: UTC, as in the API
            expires = expires.replace(tzinfo=UTC)
        entry.values["expires_at"] = expires
        entry.values["allowed_models"] = raw.get("allowed_models") or []
        entries.append(entry)
    return entries


def _changed(key: GatewayKey, entry: KeyEntry, all_providers: bool, providers: list[Provider]) -> list[str]:
    changed = [name for name, value in entry.values.items() if getattr(key, name) != value]
    if key.all_providers != all_providers:
        changed.append("all_providers")
    if sorted(p.pk for p in key.providers.all()) != sorted(p.pk for p in providers):
        changed.append("providers")
    return sorted(changed)


def import_keys(entries: list[KeyEntry], add_change: Callable[[str, str, list[str]], None]) -> None:
    """Upsert ``entries``; call inside the import's transaction, after the providers."""

    existing = {k.name: k for k in GatewayKey.objects.select_for_update().prefetch_related("providers")}
    providers_by_name = {p.name: p for p in selectors.provider_list()}
    for entry in entries:
        missing = sorted(set(entry.providers) - set(providers_by_name))
        if missing:
            raise ConfigError([(entry.label, "providers", _("Unknown provider(s): %(names)s.")
                                % {"names": ", ".join(missing)})])
        providers = [providers_by_name[name] for name in entry.providers]
        all_providers = entry.all_providers if entry.all_providers is not None else not providers
        key = existing.get(entry.name)
        # A dry run validates an entry whose secret is missing here as if it were set.
        unresolved = entry.raw_key == DRY_RUN_PLACEHOLDER
        try:
            if key is None:
                if not isinstance(entry.raw_key, str):
                    raise ConfigError([(entry.label, "key", _(
                        "A new gateway key needs its secret: key: {env: NAME} or {file: PATH}."))])
                services.gateway_key_create(name=entry.name, providers=providers, all_providers=all_providers,
                                            raw_key=None if unresolved else entry.raw_key, **entry.values)
                add_change("create", entry.name, [])
                continue
            if key.revoked_at is not None:
                raise ConfigError([(entry.label, "name", _(
                    "This gateway key is revoked; a revoked key cannot come back. Use another name."))])
            if isinstance(entry.raw_key, str) and not unresolved \
                    and hash_gateway_key(entry.raw_key) != key.key_hash:
                raise ConfigError([(entry.label, "key", _(
                    "An import cannot change the secret of an existing key; revoke it and create a new one."))])
            changed = _changed(key, entry, all_providers, providers)
            if not changed:
                add_change("unchanged", entry.name, [])
                continue
            services.gateway_key_update(key=key, all_providers=all_providers, providers=providers, **entry.values)
            add_change("update", entry.name, changed)
        except ValidationError as exc:
            raise refused(entry.label, exc) from None


def env_name(key_name: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", f"GATEWAY_KEY_{key_name}".upper()).strip("_")


def export_keys() -> list[dict[str, Any]]:
    """Every active key in the file format; its secret only as an optional placeholder."""
    out = []
    for key in selectors.routing_keys().order_by("name"):
        entry: dict[str, Any] = {"name": key.name, "key": {"env": env_name(key.name), "optional": True}}
        if key.all_providers:
            entry["all_providers"] = True
        else:
            entry["providers"] = sorted(p.name for p in key.providers.all())
        if key.allowed_models:
            entry["allowed_models"] = list(key.allowed_models)
        if key.expires_at is not None:
            entry["expires_at"] = key.expires_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        for name in ("rate_limit_rpm", "rate_limit_tpm", *key_controls.BUDGET_FIELDS):
            if getattr(key, name) is not None:
                entry[name] = getattr(key, name)
        out.append(entry)
    return out
