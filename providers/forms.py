"""Admin forms. They parse input and hand it to ``providers.services``: the form's
``clean`` asks ``provider_validate`` (the check every write runs) for field errors,
and ``save`` writes through ``provider_create``/``provider_update``, so the admin,
the REST API and the import command accept and refuse exactly the same things.

Secrets are write-only here: the key and header inputs never render a value, and
the help text names what is stored (a 4-character hint, header names) and nothing more.
"""
from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.html import escape, format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import catalog, key_controls, secret_settings, selectors, services
from .models import GatewayKey, Provider

lazy_escape = lazy(escape, str)

# Form field that receives a service error reported for a model field.
SERVICE_FIELD_TO_FORM_FIELD = {"api_key": "new_api_key", "extra_headers": "new_extra_headers"}

DISPLAY_NAME_FIELDS = {"en": "display_name_en", "vi": "display_name_vi", "zh-hans": "display_name_zh_hans"}


class UncutCharField(forms.CharField):
    """A CharField whose limit the server checks but the input does not carry: browsers
    cut pasted text to ``maxlength`` without a word, and the cut value would be saved."""

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        return attrs


class PositionedJSONField(forms.JSONField):
    """A JSONField whose "invalid JSON" error says where: line, column and reason."""

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except ValidationError as exc:
            if getattr(exc, "code", None) != "invalid" or not isinstance(value, str):
                raise
            try:
                json.loads(value)
            except json.JSONDecodeError as err:
                raise ValidationError(
                    gettext("Enter valid JSON: line %(line)s, column %(column)s: %(reason)s."),
                    code="invalid", params={"line": err.lineno, "column": err.colno, "reason": err.msg},
                ) from None
            raise


class HeaderNamesTextarea(forms.Textarea):
    """The extra headers as typed, with every value blanked: a form that comes back with
    errors keeps the header names, and the secret values are typed again."""

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return None  # unparseable: it may hold a secret, so show nothing
        if not isinstance(value, dict) or not value:
            return None
        return json.dumps({str(name): "" for name in value}, ensure_ascii=False)


class SettingsTextarea(forms.Textarea):
    """The settings JSON without the secret maps' values, even when a form with errors
    shows back what was just posted (like a password input, they are typed again)."""

    def format_value(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                parsed = json.loads(value)
            except ValueError:
                # Unparseable: shown back to be corrected, unless it may hold a secret map.
                return None if any(name in value for name in secret_settings.SECRET_MAPS) else value
            if not isinstance(parsed, dict):
                return value
            value = json.dumps(secret_settings.split(parsed)[0], ensure_ascii=False)
        return super().format_value(value)


class _SavedByTheService:
    """A model form whose ``save`` goes through a service, which also writes the
    many-to-many relations: the admin's later ``save_m2m()`` has nothing left to do."""

    def save_m2m(self) -> None:
        return None


class ProviderAdminForm(_SavedByTheService, forms.ModelForm):
    name = UncutCharField(
        label=_("Name"),
        max_length=64,
        # The admin renders help text as HTML; escaped, "<name>/<model>" shows as written.
        help_text=lazy_escape(
            _("Short identifier used in model ids: <name>/<model>. Letters, digits, hyphens and underscores.")
        ),
    )
    provider_type = forms.ChoiceField(label=_("Provider type"), choices=catalog.type_choices)
    base_url = UncutCharField(
        label=_("Base URL"),
        required=False,
        max_length=500,
        help_text=_("The API root, e.g. http://127.0.0.1:8000/v1. Required for a Custom Provider; "
                    "other HTTP types fall back to their public endpoint."),
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
    display_name_en = UncutCharField(label=_("Display name (English)"), required=False, max_length=200)
    display_name_vi = UncutCharField(label=_("Display name (Vietnamese)"), required=False, max_length=200)
    display_name_zh_hans = UncutCharField(label=_("Display name (Simplified Chinese)"), required=False, max_length=200)
    new_api_key = UncutCharField(
        label=_("API key"),
        required=False,
        max_length=4096,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Stored encrypted and never shown again. Leave blank to keep the stored key."),
    )
    clear_api_key = forms.BooleanField(label=_("Remove the stored API key"), required=False)
    new_extra_headers = PositionedJSONField(
        label=_("Extra HTTP headers"),
        required=False,
        widget=HeaderNamesTextarea(attrs={"rows": 3, "placeholder": '{"X-Header-Name": "value"}'}),
        help_text=_("A JSON object of headers sent with every upstream request. Stored encrypted; "
                    "leave blank to keep the stored headers, enter {} to remove them."),
    )
    settings = PositionedJSONField(
        label=_("Settings"),
        required=False,
        widget=SettingsTextarea(attrs={"rows": 6}),
        help_text=_("A JSON object of settings for this provider type, e.g. "
                    '{"read_timeout": 300, "allowed_models": ["llama3"], "default_model": "llama3"}. '
                    "The values of extra_query and env are secrets: stored encrypted and never shown. "
                    'Names you leave out are kept; {"env": {"NAME": null}} removes one name, '
                    '{"env": null} removes them all.'),
    )

    class Meta:
        model = Provider
        fields = [
            "name", "provider_type", "base_url", "enabled",
            "display_name_en", "display_name_vi", "display_name_zh_hans", "settings",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = self.instance if self.instance.pk else None
        if "new_api_key" in self.fields:
            if instance is not None and instance.has_api_key:
                if instance.api_key_hint:
                    self.fields["new_api_key"].help_text = gettext(
                        "A key ending in “%(hint)s” is stored (encrypted). Leave blank to keep it."
                    ) % {"hint": instance.api_key_hint}
                else:
                    self.fields["new_api_key"].help_text = gettext(
                        "A key is stored (encrypted). Leave blank to keep it."
                    )
        if "new_extra_headers" in self.fields and instance is not None and instance.extra_headers:
            self.fields["new_extra_headers"].help_text = gettext(
                "Stored headers: %(names)s. Values are encrypted and never shown. Leave blank to keep them, "
                "enter {} to remove them."
            ) % {"names": ", ".join(sorted(instance.extra_headers))}
        if "settings" in self.fields and self.initial.get("settings") is None:
            self.initial["settings"] = {}

    def _post_clean(self) -> None:
        # The services validate (in ``clean``) and write (in ``save``); the model's own
        # field checks would only repeat them in other words.
        pass

    # The data for the services ------------------------------------------------

    def _headers(self) -> tuple[bool, dict[str, str] | None]:
        """(given, value): blank keeps the stored headers, {} removes them."""
        raw = self.data.get(self.add_prefix("new_extra_headers"), "")
        if not str(raw).strip():
            return False, None
        value = self.cleaned_data.get("new_extra_headers")
        return True, (None if value == {} else value)

    def _display_names(self) -> dict[str, str]:
        return {code: self.cleaned_data.get(field) or "" for code, field in DISPLAY_NAME_FIELDS.items()}

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        instance = self.instance if self.instance.pk else None
        new_key = data.get("new_api_key") or ""
        if instance is not None and not data.get("clear_api_key"):
            will_have_key = bool(new_key) or instance.has_api_key
        else:
            will_have_key = bool(new_key)
        headers_given, headers = self._headers()
        if not headers_given:
            headers = instance.extra_headers if instance is not None else None
        settings = data.get("settings")
        errors = services.provider_validate(
            instance=instance,
            name=data.get("name") or "",
            provider_type=data.get("provider_type") or "",
            base_url=data.get("base_url") or "",
            settings=services.provider_full_settings(provider=instance, settings={} if settings is None else settings),
            will_have_api_key=will_have_key,
            extra_headers=headers,
        )
        if headers_given and isinstance(headers, dict):
            # A form that came back shows the header names with blank values (see HeaderNamesTextarea).
            blank = sorted(name for name, value in headers.items() if value == "")
            if blank:
                errors.setdefault("extra_headers", []).append(
                    gettext("Type the value of these headers again: %(names)s.") % {"names": ", ".join(blank)})
        for field, messages in errors.items():
            form_field: str | None = SERVICE_FIELD_TO_FORM_FIELD.get(field, field)
            if form_field not in self.fields:
                form_field = None
            if form_field is not None and form_field in self.errors:
                continue  # the field's own check already explained the problem
            self.add_error(form_field, messages)
        if self.errors:
            self._ask_for_secrets_again(new_key, headers_given)
        return data

    def _ask_for_secrets_again(self, new_key: str, headers_given: bool) -> None:
        """The page that shows the errors never carries a typed secret back: say so plainly, in
        the field's help (not as an error, so the admin's errors stay the API's)."""
        notices = {}
        if new_key:
            notices["new_api_key"] = gettext(
                "The API key you typed is not shown again (it is a secret): type it again before saving.")
        if headers_given:
            notices["new_extra_headers"] = gettext(
                "The header values you typed are not shown again (they are secrets): "
                "the names are kept, type the values again before saving.")
        settings = self.cleaned_data.get("settings")
        raw_settings = str(self.data.get(self.add_prefix("settings"), ""))
        if (isinstance(settings, dict) and any(name in settings for name in secret_settings.SECRET_MAPS)) or (
                settings is None and any(name in raw_settings for name in secret_settings.SECRET_MAPS)):
            notices["settings"] = gettext(
                "The values of extra_query and env you typed are not shown again (they are secrets): "
                "type them again before saving.")
        for field, notice in notices.items():
            # The bound field copied the help text when the fields were cleaned: set both.
            self.fields[field].help_text = self[field].help_text = format_html(
                '<strong class="retype-secret">{}</strong>', notice)

    def save(self, commit: bool = True) -> Provider:
        """Write through the services (always: the service is the write path)."""
        if self.errors:
            raise ValueError("The form has errors; it cannot be saved.")
        data = self.cleaned_data
        settings = data.get("settings")
        kwargs: dict[str, Any] = {
            "name": data["name"],
            "provider_type": data["provider_type"],
            "base_url": data.get("base_url") or "",
            "settings": {} if settings is None else settings,
            "enabled": bool(data.get("enabled")),
            "display_names": self._display_names(),
        }
        headers_given, headers = self._headers()
        if headers_given:
            kwargs["extra_headers"] = headers
        new_key = data.get("new_api_key") or None
        if self.instance.pk:
            provider = services.provider_update(
                provider=self.instance, api_key=new_key, clear_api_key=bool(data.get("clear_api_key")),
                display_name=None, **kwargs,
            )
        else:
            provider = services.provider_create(api_key=new_key, **kwargs)
        self.instance = provider
        return provider


class ModelPatternsField(forms.CharField):
    """The key's model allowlist as text, one pattern per line (commas also separate)."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 60, "spellcheck": "false", "autocapitalize": "off"})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return "\n".join(str(v) for v in value)
        if isinstance(value, str) and value.startswith("["):  # the model field's JSON, when bound from initial
            try:
                return "\n".join(json.loads(value))
            except (ValueError, TypeError):
                return value
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]  # a list, not text
        patterns, errors = key_controls.normalise_patterns(super().to_python(value) or "")
        if errors:
            raise ValidationError(errors)
        return patterns


KEY_FIELDS = ["all_providers", "providers", "rate_limit_rpm", "rate_limit_tpm", "record_bodies",
              *key_controls.CONTROL_FIELDS]


class _GatewayKeyScopeForm(_SavedByTheService, forms.ModelForm):
    """The scope of a key: every provider, or a chosen non-empty set (the service's
    rule), and its controls (expiry, model allowlist, budgets: key_controls)."""

    allowed_models = ModelPatternsField(
        label=_("allowed models"), required=False, max_length=key_controls.MAX_PATTERNS * 210,
        help_text=GatewayKey._meta.get_field("allowed_models").help_text,
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for field, messages in services.gateway_key_scope_errors(
            bool(data.get("all_providers")), list(data.get("providers") or [])
        ).items():
            self.add_error(field, messages)
        _clean, errors = key_controls.validate_controls(
            expires_at=data.get("expires_at"), allowed_models=data.get("allowed_models") or [],
            budgets={name: data.get(name) for name in key_controls.BUDGET_FIELDS},
            creating=self.instance.pk is None,
        )
        for field, messages in errors.items():
            if field not in self.errors:
                self.add_error(field, messages)
        return data

    def controls(self) -> dict[str, Any]:
        """The cleaned expiry, allowlist and budgets, as the services take them."""
        data = self.cleaned_data
        return {"expires_at": data.get("expires_at"), "allowed_models": data.get("allowed_models") or [],
                **{name: data.get(name) for name in key_controls.BUDGET_FIELDS}}


class GatewayKeyAddForm(_GatewayKeyScopeForm):
    """Create a key; the service makes the secret and stores only its hash."""

    class Meta:
        model = GatewayKey
        fields = ["name", *KEY_FIELDS]
        widgets = {"providers": forms.CheckboxSelectMultiple}

    def _post_clean(self) -> None:
        pass  # gateway_key_create validates the name

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        name = data.get("name")
        if name and selectors.gateway_key_name_taken(name):
            self.add_error("name", gettext("A gateway key with this name already exists."))
        return data

    def save(self, commit: bool = True) -> GatewayKey:
        data = self.cleaned_data
        key, raw = services.gateway_key_create(
            name=data["name"],
            all_providers=bool(data.get("all_providers")),
            providers=list(data.get("providers") or []),
            rate_limit_rpm=data.get("rate_limit_rpm"),
            rate_limit_tpm=data.get("rate_limit_tpm"),
            record_bodies=bool(data.get("record_bodies")),
            **self.controls(),
        )
        self.instance = key
        self.raw_key = raw
        return key


class GatewayKeyChangeForm(_GatewayKeyScopeForm):
    """Change which providers and models a key may use, its expiry, rate limits and
    budgets; the secret never changes."""

    class Meta:
        model = GatewayKey
        fields = KEY_FIELDS
        widgets = {"providers": forms.CheckboxSelectMultiple}

    def _post_clean(self) -> None:
        pass  # gateway_key_update validates

    def save(self, commit: bool = True) -> GatewayKey:
        data = self.cleaned_data
        key = services.gateway_key_update(
            key=self.instance,
            all_providers=bool(data.get("all_providers")),
            providers=list(data.get("providers") or []),
            rate_limit_rpm=data.get("rate_limit_rpm"),
            rate_limit_tpm=data.get("rate_limit_tpm"),
            record_bodies=bool(data.get("record_bodies")),
            **self.controls(),
        )
        return key


# -- what each provider type takes, shown beside the form ------------------------------

# What each settings key means (keys without an entry are listed by name alone).
SETTING_HELP: dict[str, Any] = {
    "models": _("Model ids this provider offers, listed when the backend has no model list."),
    "allowed_models": _("Only these models are listed and routed."),
    "default_model": _("The model used when a client names only the provider."),
    "max_concurrency": _("At most this many requests to this provider at once."),
    "connect_timeout": _("Seconds to wait for the connection."),
    "read_timeout": _("Seconds to wait for the whole answer."),
    "first_byte_timeout": _("Seconds to wait for the first byte (long-thinking models need more)."),
    "idle_read_timeout": _("Seconds a stream may stay silent between chunks."),
    "max_connections": _("At most this many open connections to the backend."),
    "verify_tls": _("Check the backend's TLS certificate (true or false)."),
    "ca_bundle": _("Path of a CA bundle to trust for this backend."),
    "direct": _("Ignore HTTP(S)_PROXY from the environment (true or false)."),
    "drop_params": _("Request fields removed before sending, e.g. [\"logprobs\"]."),
    "extra_body": _("An object merged into every request body."),
    "extra_query": _("Query parameters added to every request; values are secrets."),
    "retries": _("How many times a failed connection is retried."),
    "command": _("The program to run."),
    "args": _("Arguments given to the program."),
    "cwd": _("The program's working directory."),
    "env": _("Environment variables for the program; values are secrets."),
    "timeout": _("Seconds a request may take."),
    "anthropic_version": _("The anthropic-version header sent with each request."),
    "default_max_tokens": _("max_tokens sent when the client gives none."),
    "account_id": _("The ChatGPT account id sent with each request."),
    "permission_policy": _("Answer to the agent's permission requests: \"deny\" or \"allow\"."),
    "rename_params": _("Request fields renamed before sending, e.g. {\"max_tokens\": \"max_completion_tokens\"}."),
    "reasoning_field": _("The one field reasoning arrives in: \"reasoning_content\""
                         " or \"reasoning\" (the other is renamed)."),
    "normalize_chunks": _("Rewrite stream chunks to the exact OpenAI shape, dropping vendor extras (true or false)."),
}


def provider_type_guide() -> list[dict[str, Any]]:
    """Per type: which inputs apply and which settings keys it takes, with their meaning.

    Rendered into the page both as text (every type, so the form works without JavaScript)
    and as JSON for the script that shows only the chosen type's part."""
    from .provider_settings import checkers_for

    guide = []
    for ptype in catalog.PROVIDER_TYPES.values():
        guide.append({
            "type": ptype.key,
            "label": str(ptype.label),
            "description": str(ptype.description),
            "uses_base_url": ptype.uses_base_url,
            "default_base_url": ptype.default_base_url,
            "accepts_api_key": ptype.accepts_api_key,
            "settings": [
                {"key": key, "help": str(SETTING_HELP.get(key, "")),
                 "default": json.dumps(ptype.default_settings[key], ensure_ascii=False)
                 if key in ptype.default_settings else ""}
                for key in sorted(checkers_for(ptype))
            ],
        })
    return guide
