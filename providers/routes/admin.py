"""The admin of routes: a route with its targets inline, each target's health beside it.

Thin like the provider admin: the inline formset validates the targets with
``route_services.route_validate`` and the save goes through ``route_create`` /
``route_update``. A route's targets are part of the route: the route's own
permissions (view/add/change/delete route) decide what a user may do with them,
as in the REST API.
"""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import construct_change_message
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ..audit import AuditedAdmin
from ..health import breaker
from ..health import display as health_display
from ..models import Route, RouteTarget
from . import services as route_services


class RouteAdminForm(forms.ModelForm):
    class Meta:
        model = Route
        fields = list(route_services.ROUTE_FIELDS)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        errors = route_services.route_validate(route=self.instance if self.instance.pk else None,
                                               data={k: v for k, v in data.items() if k in route_services.ROUTE_FIELDS},
                                               targets=None)
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
        return data


class RouteTargetFormSet(forms.BaseInlineFormSet):
    def specs(self) -> list[route_services.TargetSpec]:
        out: list[route_services.TargetSpec] = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or not data.get("provider"):
                continue
            out.append(route_services.TargetSpec(provider=data["provider"], model=data.get("model") or "",
                                                 priority=data.get("priority") or 0, weight=data.get("weight") or 1))
        return out

    def clean(self) -> None:
        super().clean()
        if any(form.errors for form in self.forms):
            return
        errors = route_services.targets_errors(self.specs())
        if errors:
            raise ValidationError(errors["targets"])


class RouteTargetInline(admin.TabularInline):
    model = RouteTarget
    formset = RouteTargetFormSet
    fields = ("provider", "model", "priority", "weight", "health", "last_error")
    readonly_fields = ("health", "last_error")
    extra = 1
    max_num = route_services.MAX_TARGETS
    autocomplete_fields = ()

    # The targets belong to the route: its permissions govern them.
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return RouteAdmin.route_permission(request, "view")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return RouteAdmin.route_permission(request, "change" if obj is not None else "add")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return RouteAdmin.route_permission(request, "change" if obj is not None else "add")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return RouteAdmin.route_permission(request, "change")

    def _state(self, obj: RouteTarget) -> breaker.HealthState | None:
        if obj is None or not obj.pk:
            return None
        model = obj.model or (obj.provider.settings or {}).get("default_model") or ""
        return breaker.target_state(breaker.target_key(obj.provider.name, model))

    @admin.display(description=_("health"))
    def health(self, obj: RouteTarget) -> str:
        state = self._state(obj)
        if state is None:
            return "-"
        return f"{health_display.describe(state)} · {health_display.error_rate(state)}"

    @admin.display(description=_("last error"))
    def last_error(self, obj: RouteTarget) -> str:
        state = self._state(obj)
        return health_display.last_error(state) if state is not None else "-"


@admin.register(Route)
class RouteAdmin(AuditedAdmin, admin.ModelAdmin):
    form = RouteAdminForm
    inlines = [RouteTargetInline]
    list_display = ("name", "description", "enabled", "target_list", "route_health")
    list_filter = ("enabled",)
    search_fields = ("name", "description")
    fieldsets = (
        (None, {"fields": ("name", "description", "enabled")}),
        (_("Fallback"), {
            "fields": ("max_attempts", "deadline_seconds", "first_byte_timeout", "fallback_on_client_errors"),
            "description": _("A request falls back to the next target only before its first byte reaches the "
                             "client: on a connection error, a time-to-first-byte timeout, 429 or 5xx."),
        }),
    )

    @staticmethod
    def route_permission(request: HttpRequest, action: str) -> bool:
        from ..permissions import can

        return can(request.user, Route, action)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Route]:
        breaker.refresh_for_display()
        return super().get_queryset(request).prefetch_related("targets__provider")

    def save_model(self, request: HttpRequest, obj: Route, form: Any, change: bool) -> None:
        pass  # written with its targets in save_related, through the services

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        fields = {k: form.cleaned_data.get(k) for k in route_services.ROUTE_FIELDS}
        targets: list[route_services.TargetSpec] = []
        for formset in formsets:
            if isinstance(formset, RouteTargetFormSet):
                targets = formset.specs()
        if change:
            route_services.route_update(route=Route.objects.get(pk=form.instance.pk), targets=targets, **fields)
        else:
            route = route_services.route_create(targets=targets, **fields)
            form.instance.pk = route.pk
            form.instance.created_at = route.created_at
            form.instance.updated_at = route.updated_at

    def construct_change_message(self, request: HttpRequest, form: Any, formsets: Any, add: bool = False) -> Any:
        # The targets were written by the services, not by the formsets: log the route's own fields.
        return construct_change_message(form, [], add)

    def delete_model(self, request: HttpRequest, obj: Route) -> None:
        route_services.route_delete(route=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Route]) -> None:
        for route in queryset:
            route_services.route_delete(route=route)

    @admin.display(description=_("targets"))
    def target_list(self, obj: Route) -> str:
        return ", ".join(f"{t.label} (p{t.priority}, w{t.weight})" for t in obj.targets.all()) or gettext("None")

    @admin.display(description=_("health"))
    def route_health(self, obj: Route) -> str:
        cooling = 0
        targets = list(obj.targets.all())
        for t in targets:
            model = t.model or (t.provider.settings or {}).get("default_model") or ""
            if not breaker.available(breaker.target_key(t.provider.name, model)):
                cooling += 1
        if not cooling:
            return gettext("All targets available")
        return ngettext("%(cooling)s of %(total)s target cooling down", "%(cooling)s of %(total)s targets cooling down",
                        len(targets)) % {"cooling": cooling, "total": len(targets)}
