"""The admin: thin, it calls the services and never shows a secret.

Provider keys and extra headers are write-only (password/blank inputs that keep the
stored value); gateway keys are shown once, on the page that follows their creation.
"""
from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import formats, timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from chat.admin_usage import RecentUsageColumns

from . import secret_settings, services
from .audit import AuditedAdmin
from .forms import GatewayKeyAddForm, GatewayKeyChangeForm, ProviderAdminForm, provider_type_guide
from .models import GatewayKey, Provider
from .onboarding.admin_views import ProviderOnboardingAdminMixin

admin.site.site_header = _("LLM gateway administration")
admin.site.site_title = _("LLM gateway")
admin.site.index_title = _("Providers and gateway keys")

# "settings" may carry extra_query/env values, which are secrets too.
SECRET_POST_FIELDS = ("new_api_key", "new_extra_headers", "settings")


@admin.register(Provider)
class ProviderAdmin(AuditedAdmin, RecentUsageColumns, ProviderOnboardingAdminMixin, admin.ModelAdmin):
    form = ProviderAdminForm
    # Short cells (the key's hint alone, a short date), so every column fits at 1280 px.
    list_display = ("name", "display_name", "type_label", "base_url", "enabled", "key_hint", "updated")
    list_display_links = ("name",)
    list_filter = ("provider_type", "enabled")
    search_fields = ("name",)
    readonly_fields = ("key_status", "header_names", "secret_setting_names", "created_at", "updated_at")
    save_on_top = False

    def get_fieldsets(self, request: HttpRequest, obj: Provider | None = None) -> Any:
        secrets: tuple[str, ...] = ("new_api_key", "new_extra_headers")
        if obj is not None:
            secrets = ("key_status", "new_api_key", "clear_api_key", "header_names", "new_extra_headers")
        fieldsets: list[tuple[Any, dict[str, Any]]] = [
            (None, {"fields": ("name", "provider_type", "base_url", "enabled")}),
            (_("Display names"), {"fields": ("display_name_en", "display_name_vi", "display_name_zh_hans")}),
            (_("Secrets"), {
                "fields": secrets,
                "description": _("Secrets are stored encrypted and are never shown again. "
                                  "Leave a field blank to keep what is stored."),
            }),
            (_("Settings"), {"fields": ("secret_setting_names", "settings") if obj is not None else ("settings",)}),
        ]
        if obj is not None:
            fieldsets.append((_("History"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}))
        return fieldsets

    @method_decorator(sensitive_post_parameters(*SECRET_POST_FIELDS))
    def changeform_view(self, request: HttpRequest, object_id: str | None = None, form_url: str = "",
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changeform_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        context["type_guide"] = provider_type_guide()  # what each type takes, shown beside the form
        return super().render_change_form(request, context, *args, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Provider]:
        # The list needs no secret: the key status comes from the hint, so nothing is decrypted
        # per row (and one undecryptable row cannot take the whole list down).
        return super().get_queryset(request).defer("api_key", "extra_headers", "secret_settings")

    def save_model(self, request: HttpRequest, obj: Provider, form: Any, change: bool) -> None:
        # ProviderAdminForm.save() already wrote through provider_create/provider_update.
        pass

    def delete_model(self, request: HttpRequest, obj: Provider) -> None:
        services.provider_delete(provider=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        for provider in queryset:
            services.provider_delete(provider=provider)

    def usage_value(self, obj: Provider) -> str:
        return obj.name

    @admin.display(description=_("provider type"), ordering="provider_type")
    def type_label(self, obj: Provider) -> str:
        return obj.type_label

    @admin.display(description=_("API key"))
    def key_status(self, obj: Provider) -> str:
        if not obj.has_api_key:
            return gettext("No key")
        if obj.api_key_hint:
            return gettext("Stored (ends in “%(hint)s”)") % {"hint": obj.api_key_hint}
        return gettext("Stored")

    @admin.display(description=_("API key"))
    def key_hint(self, obj: Provider) -> str:
        if not obj.has_api_key:
            return gettext("No key")
        return f"“{obj.api_key_hint}”" if obj.api_key_hint else gettext("Stored")

    @admin.display(description=_("updated"), ordering="updated_at")
    def updated(self, obj: Provider) -> str:
        return formats.date_format(timezone.localtime(obj.updated_at), "SHORT_DATETIME_FORMAT")

    @admin.display(description=_("extra HTTP headers"))
    def header_names(self, obj: Provider) -> str:
        return _names_and_hints(obj.extra_headers) or gettext("None")

    @admin.display(description=_("stored secret settings"))
    def secret_setting_names(self, obj: Provider) -> str:
        """Names (and a last-4 hint) of the stored extra_query/env values; never a value."""
        lines = [f"{group}: {_names_and_hints(values)}" for group, values in sorted((obj.secret_settings or {}).items())
                 if values]
        return "; ".join(lines) or gettext("None")


def _names_and_hints(values: dict[str, str] | None) -> str:
    out = []
    for name, value in sorted((values or {}).items()):
        hint = secret_settings.hint(value)
        out.append(gettext("%(name)s (ends in “%(hint)s”)") % {"name": name, "hint": hint} if hint else name)
    return ", ".join(out)


class GatewayKeyStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("active", _("Active")), ("revoked", _("Revoked"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[GatewayKey]) -> QuerySet[GatewayKey]:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(GatewayKey)
class GatewayKeyAdmin(AuditedAdmin, RecentUsageColumns, admin.ModelAdmin):
    usage_field = "key_id"
    list_display = ("name", "prefix_display", "allowed_providers", "created_at", "last_used_at", "status")
    list_filter = (GatewayKeyStatusFilter,)
    search_fields = ("name", "prefix")
    actions = ["revoke_keys"]

    def get_form(self, request: HttpRequest, obj: GatewayKey | None = None, change: bool = False,
                 **kwargs: Any) -> Any:
        kwargs["form"] = GatewayKeyChangeForm if obj is not None else GatewayKeyAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: GatewayKey | None = None) -> Any:
        if obj is None:
            return ("name", "all_providers", "providers", "rate_limit_rpm", "rate_limit_tpm", "record_bodies")
        return ("name", "prefix_display", "status", "all_providers", "providers", "rate_limit_rpm", "rate_limit_tpm",
                "record_bodies",
                "created_at", "last_used_at", "revoked_at")

    def get_readonly_fields(self, request: HttpRequest, obj: GatewayKey | None = None) -> Any:
        if obj is None:
            return ()
        return ("name", "prefix_display", "status", "created_at", "last_used_at", "revoked_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[GatewayKey]:
        return super().get_queryset(request).prefetch_related("providers")

    def save_model(self, request: HttpRequest, obj: GatewayKey, form: Any, change: bool) -> None:
        # The form's save() already wrote through gateway_key_create / gateway_key_update.
        pass

    def response_add(self, request: HttpRequest, obj: GatewayKey, post_url_continue: str | None = None) -> HttpResponse:
        """Show the new secret once, on this page only (never in a message cookie or a log)."""
        raw = getattr(request, "_new_gateway_key", None)
        if raw is None or "_popup" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Gateway key created"),
            "opts": self.opts,
            "key": obj,
            "raw_key": raw,
        }
        response = TemplateResponse(request, "admin/providers/gatewaykey/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        obj = super().save_form(request, form, change)
        if not change:
            # Lives only as long as this request, until response_add renders it.
            request._new_gateway_key = form.raw_key  # type: ignore[attr-defined]
        return obj

    def usage_value(self, obj: GatewayKey) -> int:
        return obj.pk

    @admin.display(description=_("prefix"))
    def prefix_display(self, obj: GatewayKey) -> str:
        return f"{obj.prefix}…"

    @admin.display(description=_("allowed providers"))
    def allowed_providers(self, obj: GatewayKey) -> str:
        if obj.all_providers:
            return gettext("All providers")
        names = [p.name for p in obj.providers.all()]
        return ", ".join(names) if names else gettext("No provider left")

    @admin.display(description=_("status"))
    def status(self, obj: GatewayKey) -> str:
        return gettext("Active") if obj.is_active else gettext("Revoked")

    @admin.action(description=_("Revoke the selected gateway keys"), permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[GatewayKey]) -> None:
        count = 0
        for key in queryset.filter(revoked_at__isnull=True):
            services.gateway_key_revoke(key=key)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d gateway key revoked.", "%(count)d gateway keys revoked.", count) % {"count": count},
            messages.SUCCESS,
        )
