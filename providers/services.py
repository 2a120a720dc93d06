"""Writes to the provider store. The REST API, the admin, the import command and
the tests all go through these functions, so validation lives in one place."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, validate_slug
from django.db import transaction
from django.db.models import Field
from django.utils import timezone
from django.utils.translation import gettext as _

from . import catalog, config_version, key_controls, secret_settings, selectors, url_policy
from .gateway_keys import GATEWAY_KEY_PREFIX, KeyMaterial, hash_gateway_key, new_key_material
from .models import GatewayKey, Provider
from .provider_settings import validate_settings
from .transport.headers import forbidden_header


def _hint(key: str) -> str:
    return key[-4:] if len(key) >= 8 else ""


def _normalise_base_url(value: str) -> str:
    return value.strip().rstrip("/")


def provider_validate(
    *,
    instance: Provider | None,
    name: str,
    provider_type: str,
    base_url: str,
    settings: Any,
    will_have_api_key: bool,
    extra_headers: Any = None,
) -> dict[str, list[str]]:
    """Return field errors ({} when the data is valid). Messages are in the active language."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if not name:
        add("name", _("This field is required."))
    else:
        try:
            validate_slug(name)
        except ValidationError:
            add("name", _("Use only letters, digits, hyphens and underscores (no slash or spaces)."))
        if len(name) > 64:
            add("name", _("At most 64 characters."))
        clash = selectors.name_clash(name, kind="provider", instance=instance)
        if clash:
            add("name", clash)

    too_long = _too_long("base_url", base_url)
    if too_long:
        add("base_url", too_long)
    ptype = catalog.PROVIDER_TYPES.get(provider_type)
    if ptype is None:
        add(
            "provider_type",
            _("Unknown provider type “%(value)s”. Valid types: %(valid)s.")
            % {"value": provider_type, "valid": ", ".join(catalog.type_keys())},
        )
    else:
        if too_long:
            pass  # the URL's other checks would only add noise
        elif base_url:
            try:
                parts = urlsplit(base_url)
                parts.port  # noqa: B018 -- raises ValueError for a port out of range
                absolute = parts.scheme in ("http", "https") and bool(parts.hostname)
            except ValueError:  # e.g. "http://[::1" or "http://host:99999"
                absolute = False
            if not absolute or _unstorable_text(base_url):
                add("base_url", _("Enter an absolute http:// or https:// URL."))
            elif not ptype.uses_base_url:
                add("base_url", _("This provider type runs a local program and takes no base URL."))
            else:
                problem = url_policy.check_base_url(base_url)
                if problem:
                    add("base_url", problem)
        elif ptype.uses_base_url and ptype.requires_base_url:
            add("base_url", _("This provider type needs a base URL."))

        if will_have_api_key and not ptype.accepts_api_key:
            add("api_key", _("This provider type takes no API key."))
        elif ptype.requires_api_key and not will_have_api_key:
            add("api_key", _("This provider type needs an API key."))

        unstorable = _unstorable_text(settings)
        if unstorable:
            add("settings", unstorable)
        else:
            try:
                validate_settings(ptype, settings)
            except ValidationError as exc:
                errors.setdefault("settings", []).extend(exc.messages)

    if extra_headers is not None:
        if not isinstance(extra_headers, dict) or not all(
            isinstance(k, str) and k and isinstance(v, str) for k, v in extra_headers.items()
        ):
            add("extra_headers", _("Must be an object mapping header names to string values."))
        elif _unstorable_text(extra_headers) or not all(
            _HEADER_NAME.match(k) and not _HEADER_VALUE_BAD.search(v) for k, v in extra_headers.items()
        ):
            add("extra_headers", _("Header names must be valid HTTP tokens and values cannot contain line breaks."))
        elif refused := sorted(k for k in extra_headers if forbidden_header(k)):
            add("extra_headers", _("These headers are set by the gateway and cannot be extra headers: %(names)s.")
                % {"names": ", ".join(refused)})
    return errors


def _too_long(field: str, value: str | None) -> str | None:
    """Django's own (translated) "at most N characters" message when ``value`` exceeds the
    column, or None: a longer value is refused, never cut (PostgreSQL would fail, SQLite keep it)."""
    try:
        column = Provider._meta.get_field(field)
        MaxLengthValidator(column.max_length if isinstance(column, Field) else None)(value or "")
    except ValidationError as exc:
        return " ".join(exc.messages)
    return None


def _display_name_errors(display_name: str | None, display_names: dict[str, str] | None) -> dict[str, list[str]]:
    given = {"display_name": display_name} | {
        f"display_name_{lang.replace('-', '_')}": value for lang, value in (display_names or {}).items()}
    return {field: [message] for field, value in given.items()
            if isinstance(value, str) and (message := _too_long("display_name", value))}


# RFC 9110 token characters; header values must not break the request line structure.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_HEADER_VALUE_BAD = re.compile(r"[\r\n\x00]")


def _unstorable_text(value: Any) -> str | None:
    """Why a JSON value cannot be stored (PostgreSQL refuses NUL) or encoded (lone surrogates), or None."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item or any("\ud800" <= ch <= "\udfff" for ch in item):
                return _("Text cannot contain NUL or unpaired surrogate characters.")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


@transaction.atomic
def provider_create(
    *,
    name: str,
    provider_type: str,
    base_url: str = "",
    api_key: str | None = None,
    extra_headers: dict[str, str] | None = None,
    settings: dict[str, Any] | None = None,
    enabled: bool = True,
    display_name: str = "",
    display_names: dict[str, str] | None = None,
) -> Provider:
    """Create a provider; raise ValidationError (with a field dict) on bad input.

    ``settings`` may carry the secret maps (``extra_query``, ``env``); they are stored
    encrypted, apart from the rest (see ``secret_settings``)."""
    return _save(
        Provider(), name=name, provider_type=provider_type, base_url=_normalise_base_url(base_url or ""),
        settings=provider_full_settings(provider=None, settings=settings if settings is not None else {}),
        extra_headers=extra_headers, enabled=enabled, display_name=display_name, display_names=display_names,
        api_key=api_key, clear_api_key=False,
    )


def provider_full_settings(*, provider: Provider | None, settings: Any) -> Any:
    """The settings a write leads to: ``settings`` with its secret maps written per
    name over the provider's stored ones (a map left out is kept; null removes)."""
    if not isinstance(settings, dict):
        return settings  # validation reports it
    return secret_settings.apply(provider.secret_settings if provider is not None else None, settings)


def _store_settings(provider: Provider, settings: dict[str, Any]) -> None:
    plain, secret = secret_settings.split(settings)
    provider.settings = plain
    provider.secret_settings = secret or None


def _set_display_names(provider: Provider, display_name: str | None, display_names: dict[str, str] | None) -> None:
    if display_name is not None:
        provider.display_name = display_name
    for lang, value in (display_names or {}).items():
        setattr(provider, f"display_name_{lang.replace('-', '_')}", value)


_UNSET: Any = object()


@transaction.atomic
def provider_update(
    *,
    provider: Provider,
    name: str = _UNSET,
    provider_type: str = _UNSET,
    base_url: str = _UNSET,
    api_key: str | None = None,
    clear_api_key: bool = False,
    extra_headers: dict[str, str] | None = _UNSET,
    settings: dict[str, Any] = _UNSET,
    enabled: bool = _UNSET,
    display_name: str | None = None,
    display_names: dict[str, str] | None = None,
) -> Provider:
    """Update a provider. A missing or empty ``api_key`` keeps the stored key;
    ``clear_api_key=True`` removes it. Secret settings (``extra_query``, ``env``) are
    written per name: left out keeps, null removes (see ``secret_settings``)."""
    kept = provider.settings if settings is _UNSET else (settings if settings is not None else {})
    return _save(
        provider,
        name=provider.name if name is _UNSET else name,
        provider_type=provider.provider_type if provider_type is _UNSET else provider_type,
        base_url=provider.base_url if base_url is _UNSET else _normalise_base_url(base_url or ""),
        settings=provider_full_settings(provider=provider, settings=kept),
        extra_headers=provider.extra_headers if extra_headers is _UNSET else extra_headers,
        enabled=provider.enabled if enabled is _UNSET else enabled,
        display_name=display_name, display_names=display_names, api_key=api_key, clear_api_key=clear_api_key,
    )


def _save(
    provider: Provider, *, name: str, provider_type: str, base_url: str, settings: Any,
    extra_headers: dict[str, str] | None, enabled: bool, display_name: str | None,
    display_names: dict[str, str] | None, api_key: str | None, clear_api_key: bool,
) -> Provider:
    """Check what ``provider`` (new, or stored) is to become and save it: the one write of
    provider_create and provider_update. A new key replaces the stored one; without one,
    ``clear_api_key`` removes it, else it is kept."""
    errors = provider_validate(
        instance=provider,
        name=name,
        provider_type=provider_type,
        base_url=base_url,
        settings=settings,
        will_have_api_key=bool(api_key) or (provider.has_api_key and not clear_api_key),
        extra_headers=extra_headers,
    ) | _display_name_errors(display_name, display_names)
    if errors:
        raise ValidationError(errors)
    provider.name = name
    provider.provider_type = provider_type
    provider.base_url = base_url
    _store_settings(provider, settings)
    provider.extra_headers = extra_headers or None
    provider.enabled = enabled
    _set_display_names(provider, display_name, display_names)
    if api_key:
        provider.api_key = api_key
        provider.api_key_hint = _hint(api_key)
    elif clear_api_key:
        provider.api_key = None
        provider.api_key_hint = ""
    provider.save()
    config_version.bump()
    return provider


@transaction.atomic
def provider_delete(*, provider: Provider) -> None:
    provider.delete()
    config_version.bump()


# Gateway keys ---------------------------------------------------------------


def gateway_key_scope_errors(all_providers: bool, providers: list[Provider]) -> dict[str, list[str]]:
    """A key is either for every provider or for a chosen, non-empty set: never both, never neither."""
    if all_providers and providers:
        return {"providers": [_("Choose either all providers or a list of providers, not both.")]}
    if not all_providers and not providers:
        return {"providers": [_("Choose at least one provider, or allow all providers.")]}
    return {}


@transaction.atomic
def gateway_key_create(
    *,
    name: str,
    providers: list[Provider] | None = None,
    all_providers: bool | None = None,
    rate_limit_rpm: int | None = None,
    rate_limit_tpm: int | None = None,
    record_bodies: bool = False,
    expires_at: datetime | None = None,
    allowed_models: list[str] | None = None,
    requests_per_day: int | None = None,
    requests_per_month: int | None = None,
    tokens_per_day: int | None = None,
    tokens_per_month: int | None = None,
    raw_key: str | None = None,
) -> tuple[GatewayKey, str]:
    """Create a key; return it with the raw secret, which is never stored or shown again.

    ``all_providers`` left out means: every provider when ``providers`` is empty,
    only those providers otherwise. The choice is stored as an explicit flag.
    ``expires_at``, ``allowed_models`` and the budgets are checked by
    ``key_controls.validate_controls``. ``raw_key`` (the config import's secret
    reference) sets the secret instead of a new random one."""
    providers = list(providers or [])
    if all_providers is None:
        all_providers = not providers
    errors: dict[str, list[str]] = {}
    try:
        validate_slug(name)
    except ValidationError:
        errors["name"] = [_("Use only letters, digits, hyphens and underscores.")]
    if not errors and GatewayKey.objects.filter(name=name).exists():
        errors["name"] = [_("A gateway key with this name already exists.")]
    errors.update(gateway_key_scope_errors(all_providers, providers))
    controls, control_errors = key_controls.validate_controls(
        expires_at=expires_at, allowed_models=allowed_models, creating=True,
        budgets={"requests_per_day": requests_per_day, "requests_per_month": requests_per_month,
                 "tokens_per_day": tokens_per_day, "tokens_per_month": tokens_per_month},
    )
    errors.update(control_errors)
    if raw_key is not None:
        errors.update(_raw_key_errors(raw_key))
    if errors:
        raise ValidationError(errors)
    material = new_key_material() if raw_key is None else KeyMaterial(
        raw=raw_key, prefix=raw_key[: len(GATEWAY_KEY_PREFIX) + 6], key_hash=hash_gateway_key(raw_key))
    key = GatewayKey.objects.create(
        name=name,
        prefix=material.prefix,
        key_hash=material.key_hash,
        all_providers=all_providers,
        rate_limit_rpm=rate_limit_rpm,
        rate_limit_tpm=rate_limit_tpm,
        record_bodies=record_bodies,
        **controls,
    )
    if providers:
        key.providers.set(providers)
    config_version.bump()
    return key, material.raw


MIN_RAW_KEY_LENGTH = 32


def _raw_key_errors(raw: str) -> dict[str, list[str]]:
    """A secret given from outside (config import) must be as strong as one the gateway makes."""
    if not isinstance(raw, str) or len(raw) < MIN_RAW_KEY_LENGTH or len(raw) > 512 or not raw.isprintable() \
            or any(ch.isspace() for ch in raw):
        return {"key": [_("A gateway key must be %(min)s to 512 printable characters without spaces.")
                        % {"min": MIN_RAW_KEY_LENGTH}]}
    if GatewayKey.objects.filter(key_hash=hash_gateway_key(raw)).exists():
        return {"key": [_("This secret is already used by another gateway key.")]}
    return {}


@transaction.atomic
def gateway_key_update(
    *,
    key: GatewayKey,
    all_providers: bool,
    providers: list[Provider],
    rate_limit_rpm: int | None = None,
    rate_limit_tpm: int | None = None,
    expires_at: datetime | None = _UNSET,
    allowed_models: list[str] = _UNSET,
    requests_per_day: int | None = _UNSET,
    requests_per_month: int | None = _UNSET,
    tokens_per_day: int | None = _UNSET,
    tokens_per_month: int | None = _UNSET,
    record_bodies: bool | None = None,
) -> GatewayKey:
    """Change what a key may use, its limits and whether the request log keeps its
    bodies (``None``: unchanged). Its secret never changes. The expiry, allowlist
    and budgets left out keep their stored values."""
    providers = list(providers)
    given = {"expires_at": expires_at, "allowed_models": allowed_models, "requests_per_day": requests_per_day,
             "requests_per_month": requests_per_month, "tokens_per_day": tokens_per_day,
             "tokens_per_month": tokens_per_month}
    wanted = {name: getattr(key, name) if value is _UNSET else value for name, value in given.items()}
    errors = gateway_key_scope_errors(all_providers, providers)
    controls, control_errors = key_controls.validate_controls(
        expires_at=wanted["expires_at"], allowed_models=wanted["allowed_models"], creating=False,
        budgets={name: wanted[name] for name in key_controls.BUDGET_FIELDS},
    )
    errors.update(control_errors)
    if errors:
        raise ValidationError(errors)
    key.all_providers = all_providers
    key.rate_limit_rpm = rate_limit_rpm
    key.rate_limit_tpm = rate_limit_tpm
    if record_bodies is not None:
        key.record_bodies = record_bodies
    for name, value in controls.items():
        setattr(key, name, value)
    key.save(update_fields=["all_providers", "rate_limit_rpm", "rate_limit_tpm", "record_bodies", *controls])
    key.providers.set(providers)
    config_version.bump()
    return key


@transaction.atomic
def gateway_key_revoke(*, key: GatewayKey) -> GatewayKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        config_version.bump()
    return key


def gateway_keys_touch(*, used: dict[int, Any]) -> None:
    """Record last-used times in one batch (called off the request path)."""
    for key_id, when in used.items():
        GatewayKey.objects.filter(pk=key_id).update(last_used_at=when)
