"""The request log in the admin: a read-only list with filters, a detail page, and
a CSV export of the filtered list (``export/``) or of the selected rows (an action).

Nobody adds, changes or deletes rows here (retention deletes them); viewing and
exporting need ``chat.view_requestlog`` (providers/permissions.py).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from providers.models import GatewayKey, Provider
from providers.permissions import can_view

from . import export, selectors
from .models import RequestLog

RECENT_MODELS = timedelta(days=1)
MAX_CHOICES = 100


class _NamedFilter(admin.SimpleListFilter):
    """A filter on a name column whose choices come from a small table (cheap on a
    large log): by default the names of ``table``'s rows. The value in the URL is kept
    even when no such row exists any more."""

    column = ""
    table: type[Model] | None = None

    def names(self) -> list[str]:
        if self.table is None:
            raise NotImplementedError
        return list(self.table._default_manager.order_by("name").values_list("name", flat=True))

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = self.names()[:MAX_CHOICES]
        chosen = self.value()
        if chosen and chosen not in names:
            names.append(chosen)
        return [(name, name) for name in names]

    def queryset(self, request: HttpRequest, queryset: QuerySet[RequestLog]) -> QuerySet[RequestLog]:
        if self.value():
            return queryset.filter(**{self.column: self.value()})
        return queryset


class ProviderFilter(_NamedFilter):
    title = _("provider")
    parameter_name = "provider"
    column = "provider_name"
    table = Provider


class KeyFilter(_NamedFilter):
    title = _("gateway key")
    parameter_name = "key"
    column = "key_name"
    table = GatewayKey


class ModelFilter(_NamedFilter):
    title = _("model")
    parameter_name = "model"
    column = "requested_model"

    def names(self) -> list[str]:
        # The models asked for over the last day (an index range, not the whole log).
        since = timezone.now() - RECENT_MODELS
        return sorted(
            RequestLog.objects.filter(started_at__gte=since).exclude(requested_model="")
            .order_by().values_list("requested_model", flat=True).distinct()[:MAX_CHOICES]
        )


class StatusClassFilter(admin.SimpleListFilter):
    title = _("status class")
    parameter_name = "status_class"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(value, value) for value in selectors.STATUS_CLASSES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[RequestLog]) -> QuerySet[RequestLog]:
        chosen = self.value()
        if chosen in selectors.STATUS_CLASSES:
            return queryset.filter(selectors.status_class_q(chosen))
        return queryset


def _csv_response(rows: QuerySet[RequestLog]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(export.csv_lines(rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="requests-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


@admin.register(RequestLog)
class RequestLogAdmin(admin.ModelAdmin):
    # Few, short cells, so every figure ops look for fits at 1280 px beside the menu
    # and the filters: the model id names its provider, latency and time to first
    # token share a cell, and so do tokens in and out (the detail page has each).
    list_display = ("when", "surface", "key_name", "requested_model", "status", "outcome", "stream",
                    "latency", "tokens")
    list_filter = (ProviderFilter, KeyFilter, ModelFilter, StatusClassFilter, "outcome", "stream", "surface")
    date_hierarchy = "started_at"
    search_fields = ("requested_model", "upstream_model", "error_code", "error_cause")
    show_full_result_count = False  # one COUNT over a large log is enough
    list_per_page = 50
    actions = ["export_selected"]
    fieldsets = (
        (None, {"fields": ("started_at", "request_id", "surface", "method", "path", "client_ip")}),
        (_("Who and where"), {"fields": ("key_name", "key_id", "provider_name", "provider_type",
                                         "requested_model", "upstream_model", "route", "attempts")}),
        (_("Answer"), {"fields": ("status", "outcome", "error_code", "error_cause", "stream", "retries")}),
        (_("Timing and usage"), {"fields": ("latency_ms", "ttft_ms", "tokens_in", "tokens_out", "tokens_reasoning",
                                            "bytes_in", "bytes_out")}),
        (_("Bodies"), {"fields": ("request_body_display", "response_body_display"),
                       "description": _("Kept only for keys with “record bodies” on; provider secrets are masked.")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[RequestLog]:
        qs = super().get_queryset(request)
        # The list never reads the bodies; the detail page does.
        url_name = request.resolver_match.url_name if request.resolver_match else None
        return qs if url_name and url_name.endswith("_change") else qs.defer("request_body", "response_body")

    def get_readonly_fields(self, request: HttpRequest, obj: RequestLog | None = None) -> Any:
        return [f.name for f in RequestLog._meta.fields] + ["request_body_display", "response_body_display"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RequestLog | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RequestLog | None = None) -> bool:
        return False  # rows go only by retention (GATEWAY_REQUEST_LOG_DAYS)

    def has_view_permission(self, request: HttpRequest, obj: RequestLog | None = None) -> bool:
        return can_view(request.user, RequestLog)

    @admin.display(description=_("time"), ordering="started_at")
    def when(self, obj: RequestLog) -> str:
        return formats.date_format(timezone.localtime(obj.started_at), "SHORT_DATETIME_FORMAT")

    @admin.display(description=_("latency (ms)"), ordering="latency_ms")
    def latency(self, obj: RequestLog) -> str:
        """Total latency, and the time to the first token in brackets when known."""
        total = formats.number_format(round(obj.latency_ms))
        if obj.ttft_ms is None:
            return total
        return _("%(total)s (first token %(ttft)s)") % {"total": total,
                                                       "ttft": formats.number_format(round(obj.ttft_ms))}

    @admin.display(description=_("tokens in / out"))
    def tokens(self, obj: RequestLog) -> str:
        """Unknown counts (the backend reported none) show as “?”, never as 0."""
        def text(value: int | None) -> str:
            return "?" if value is None else formats.number_format(value)
        return f"{text(obj.tokens_in)} / {text(obj.tokens_out)}"

    @admin.display(description=_("request body"))
    def request_body_display(self, obj: RequestLog) -> str:
        return format_html("<pre class='requestlog-body'>{}</pre>", obj.request_body) if obj.request_body else "-"

    @admin.display(description=_("answer body"))
    def response_body_display(self, obj: RequestLog) -> str:
        return format_html("<pre class='requestlog-body'>{}</pre>", obj.response_body) if obj.response_body else "-"

    @admin.action(description=_("Export the selected requests as CSV"), permissions=["view"])
    def export_selected(self, request: HttpRequest, queryset: QuerySet[RequestLog]) -> StreamingHttpResponse:
        return _csv_response(queryset.order_by("-started_at", "-id"))

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path("export/", self.admin_site.admin_view(self.export_view), name="{}_{}_export".format(*info)),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        """The list as filtered and searched on the page (same query string), as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            changelist_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            return HttpResponseRedirect(changelist_url + "?" + ERROR_FLAG + "=1")
        return _csv_response(changelist.get_queryset(request))
