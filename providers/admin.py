"""The admin: thin, it calls the services and never shows a secret.

Provider keys and extra headers are write-only (password/blank inputs that keep the
stored value); gateway keys are shown once, on the page that follows their creation.
"""
from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import formats, timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from chat import budgets
from chat.admin_usage import RecentUsageColumns

from . import secret_settings, services
from .audit import AuditedAdmin
from .forms import GatewayKeyAddForm, GatewayKeyChangeForm, ProviderAdminForm, provider_type_guide
from .health import breaker
from .health import display as health_display
from .models import GatewayKey, Provider
from .onboarding.admin_views import ProviderOnboardingAdminMixin
from .routes import admin as route_admin  # noqa: F401 (registers the route admin)

admin.site.site_header = _("LLM gateway administration")
admin.site.site_title = _("LLM gateway")
admin.site.index_title = _("Providers and gateway keys")

# "settings" may carry extra_query/env values, which are secrets too.
SECRET_POST_FIELDS = ("new_api_key", "new_extra_headers", "settings")


@admin.register(Provider)
class ProviderAdmin(AuditedAdmin, RecentUsageColumns, ProviderOnboardingAdminMixin, admin.ModelAdmin):
    form = ProviderAdminForm
    # Short cells (the key's hint alone, a short date), so every column fits at 1280 px.
    # One health cell (state, error rate, last error) and no edit time, so that with
    # the last-24 h cell every column fits at 1280 px beside the menu and the filters.
    list_display = ("name", "display_name", "type_label", "base_url", "enabled", "key_hint", "health_state")
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

    @admin.display(description=_("health"))
    def health_state(self, obj: Provider) -> str:
        """The state, then the error rate and the last error when there are any."""
        state = breaker.provider_state(obj.name)
        lines = [health_display.describe(state)]
        lines += [text for text in (health_display.error_rate(state), health_display.last_error(state)) if text != "-"]
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))

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
        return [("active", _("Active")), ("expired", _("Expired")), ("revoked", _("Revoked"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[GatewayKey]) -> QuerySet[GatewayKey]:
        unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        if self.value() == "active":
            return queryset.filter(unexpired, revoked_at__isnull=True)
        if self.value() == "expired":
            return queryset.exclude(unexpired).filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


class GatewayKeyChangeList(ChangeList):
    """Reads the budget use of the listed keys in one cache call, not one per row."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        use = budgets.usage(list(self.result_list))
        for key in self.result_list:
            key.budget_use = use.get(key.pk, {})


BUDGET_LABELS = {
    "requests_per_day": _("Requests today: %(used)s of %(limit)s, resets %(resets_at)s"),
    "requests_per_month": _("Requests this month: %(used)s of %(limit)s, resets %(resets_at)s"),
    "tokens_per_day": _("Tokens today: %(used)s of %(limit)s, resets %(resets_at)s"),
    "tokens_per_month": _("Tokens this month: %(used)s of %(limit)s, resets %(resets_at)s"),
}


def budget_lines(use: dict[str, Any]) -> list[str]:
    """One line per budget that is set, e.g. "Requests today: 12 of 100, resets 2026-11-29T00:00:00Z"."""
    lines = []
    for name, label in BUDGET_LABELS.items():
        row = use.get(name) or {}
        if row.get("limit"):
            used = row["used"] if row.get("used") is not None else gettext("unknown (the cache cannot be reached)")
            lines.append(str(label) % {"used": used, "limit": row["limit"], "resets_at": row["resets_at"]})
    return lines


@admin.register(GatewayKey)
class GatewayKeyAdmin(AuditedAdmin, RecentUsageColumns, admin.ModelAdmin):
    usage_field = "key_id"
    # Short cells (budgets as "req/d 12/100"), so the list with its last-24-hours column fits at 1280 px.
    list_display = ("name", "prefix_display", "allowed_providers", "models_display", "expires_display",
                    "budget_display", "last_used_at", "status")
    list_filter = (GatewayKeyStatusFilter,)
    search_fields = ("name", "prefix")
    actions = ["revoke_keys"]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return GatewayKeyChangeList

    def get_form(self, request: HttpRequest, obj: GatewayKey | None = None, change: bool = False,
                 **kwargs: Any) -> Any:
        kwargs["form"] = GatewayKeyChangeForm if obj is not None else GatewayKeyAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: GatewayKey | None = None) -> Any:
        head: tuple[str, ...] = ("name",) if obj is None else ("name", "prefix_display", "status")
        fieldsets: list[tuple[Any, dict[str, Any]]] = [
            (None, {"fields": (*head, "expires_at")}),
            (_("What the key may use"), {"fields": ("all_providers", "providers", "allowed_models")}),
            (_("Rate limits"), {"fields": ("rate_limit_rpm", "rate_limit_tpm")}),
            (_("Request log"), {"fields": ("record_bodies",)}),
            (_("Budgets"), {
                "fields": ("requests_per_day", "requests_per_month", "tokens_per_day", "tokens_per_month")
                + (("budget_use",) if obj is not None else ()),
                "description": _("Counted over UTC calendar days and months, in every gateway process when "
                                  "REDIS_URL is set. A request over a budget is refused with 429 "
                                  "(quota_exceeded) until the window resets. Empty: unlimited."),
            }),
        ]
        if obj is not None:
            fieldsets.append((_("History"), {"fields": ("created_at", "last_used_at", "revoked_at")}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: GatewayKey | None = None) -> Any:
        if obj is None:
            return ()
        return ("name", "prefix_display", "status", "budget_use", "created_at", "last_used_at", "revoked_at")

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
        if not obj.is_active:
            return gettext("Revoked")
        return gettext("Expired") if obj.is_expired else gettext("Active")

    @admin.display(description=_("allowed models"))
    def models_display(self, obj: GatewayKey) -> str:
        return ", ".join(obj.allowed_models) if obj.allowed_models else gettext("All models")

    @admin.display(description=_("expires"), ordering="expires_at")
    def expires_display(self, obj: GatewayKey) -> str:
        if obj.expires_at is None:
            return gettext("Never")
        return formats.date_format(timezone.localtime(obj.expires_at), "SHORT_DATETIME_FORMAT")

    @admin.display(description=_("budget use"))
    def budget_display(self, obj: GatewayKey) -> str:
        return budgets.summary(getattr(obj, "budget_use", None) or budgets.usage([obj]).get(obj.pk, {}))

    @admin.display(description=_("use against budgets"))
    def budget_use(self, obj: GatewayKey) -> Any:
        lines = budget_lines(budgets.usage([obj]).get(obj.pk, {}))
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines)) if lines else gettext("None")

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
