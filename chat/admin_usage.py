"""The admin's usage page (``/admin/usage/``): charts and tables of the request log over a
chosen period, for staff with ``chat.view_requestlog``. Reads through chat/usage.py,
like ``GET /api/usage/``; charts are SVG made here (chat/usage_charts.py)."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from providers import permissions

from . import usage, usage_charts
from .models import RequestLog
from .usage_charts import ERROR_COLOUR, PALETTE, Series

PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90)}
# Groups drawn one by one in the stacked charts; the others are summed as one.
CHART_GROUPS = 5


class UsageForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), initial="24h", required=False, choices=[
        ("24h", _("Last 24 hours")), ("7d", _("Last 7 days")), ("30d", _("Last 30 days")),
        ("90d", _("Last 90 days")), ("custom", _("Dates below")),
    ])
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To (inclusive)"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    bucket = forms.ChoiceField(label=_("Buckets"), required=False, choices=[
        ("", _("Automatic")), ("hour", _("Hours")), ("day", _("Days"))])
    group = forms.ChoiceField(label=_("Break down by"), required=False, initial="provider", choices=[
        ("provider", _("Provider")), ("key", _("Gateway key")), ("model", _("Model"))])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        now = timezone.now()
        period = data.get("period") or "24h"
        if period == "custom":
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                raise forms.ValidationError(gettext("Choose both dates, or a period."))
            tz = timezone.get_current_timezone()
            since = timezone.make_aware(datetime.combine(start, time.min), tz)
            until = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), tz)
        else:
            since, until = now - PERIODS[period], now
        bucket = data.get("bucket") or ("hour" if until - since <= timedelta(days=7) else "day")
        problem = usage.period_problem(since, until, bucket)
        if problem:
            raise forms.ValidationError(problem)
        data.update(since=since, until=until, bucket=bucket, group=data.get("group") or "provider")
        return data


def _group_name(name: str, group: str) -> str:
    if name == usage.OTHER:
        return gettext("others")
    if name:
        return name
    return {"provider": gettext("no provider"), "key": gettext("no key"), "model": gettext("no model")}[group]


NONE = "\u2013"  # an en dash: no value (no request in the bucket)


def _number(value: float | None) -> str:
    return NONE if value is None else formats.number_format(value, force_grouping=True)


def _ms(value: int | None) -> str:
    return NONE if value is None else gettext("%(ms)s ms") % {"ms": formats.number_format(value, force_grouping=True)}


def _percent(value: float | None) -> str:
    return NONE if value is None else formats.number_format(value * 100, decimal_pos=1) + "%"


def _row(name: str, stats: usage.Stats) -> dict[str, Any]:
    return {
        "name": name, "requests": _number(stats["requests"]), "errors": _number(stats["errors"]),
        "error_rate": _percent(stats["error_rate"]), "tokens_in": _number(stats["tokens_in"]),
        "tokens_out": _number(stats["tokens_out"]), "tokens_unknown": _number(stats["tokens_unknown"]),
        "latency_p50": _ms(stats["latency_p50_ms"]), "latency_p95": _ms(stats["latency_p95_ms"]),
        "ttft_p50": _ms(stats["ttft_p50_ms"]), "ttft_p95": _ms(stats["ttft_p95_ms"]),
    }


# The columns of the page's two tables after the name: (heading, key of the row).
GROUP_COLUMNS = [
    (_("Requests"), "requests"), (_("Errors"), "errors"), (_("Error rate"), "error_rate"),
    (_("Tokens in"), "tokens_in"), (_("Tokens out"), "tokens_out"), (_("Tokens unknown"), "tokens_unknown"),
    (_("Latency p50"), "latency_p50"), (_("Latency p95"), "latency_p95"), (_("TTFT p50"), "ttft_p50"),
    (_("TTFT p95"), "ttft_p95"),
]
CONSUMER_COLUMNS = [
    (_("Tokens"), "tokens"), (_("Tokens in"), "tokens_in"), (_("Tokens out"), "tokens_out"),
    (_("Requests"), "requests"), (_("Errors"), "errors"),
]


def _table(table_id: str, name_heading: str, columns: list[tuple[Any, str]], rows: list[dict[str, Any]]
           ) -> dict[str, Any]:
    """A table for admin/chat/usage_table.html: the name, then ``columns`` of each row."""
    return {"id": table_id, "headings": [name_heading, *(heading for heading, _key in columns)],
            "rows": [(row["name"], [row[key] for _heading, key in columns]) for row in rows]}


def _charts(report: usage.Report) -> list[dict[str, Any]]:
    starts = [b["start"] for b in report["buckets"]]
    bucket, buckets = report["bucket"], report["buckets"]
    groups = report["groups"]
    shown, rest = groups[:CHART_GROUPS], groups[CHART_GROUPS:]
    by_group = [Series(_group_name(g["name"], report["group"]), [b["requests"] for b in g["buckets"]], PALETTE[i])
                for i, g in enumerate(shown)]
    if rest:
        by_group.append(Series(gettext("others"), [sum(g["buckets"][i]["requests"] for g in rest)
                                                   for i in range(len(starts))], PALETTE[-1]))
    requests_title = {"provider": gettext("Requests by provider"), "key": gettext("Requests by gateway key"),
                      "model": gettext("Requests by model")}[report["group"]]
    ms = " ms"  # the SI unit, written so in every language
    charts = [
        (requests_title, "bars", by_group, ""),
        (gettext("Errors"), "bars", [Series(gettext("Errors"), [b["errors"] for b in buckets], ERROR_COLOUR)], ""),
        (gettext("Tokens"), "bars", [Series(gettext("Tokens in"), [b["tokens_in"] for b in buckets], PALETTE[0]),
                                     Series(gettext("Tokens out"), [b["tokens_out"] for b in buckets], PALETTE[1])],
         ""),
        (gettext("Latency (ms)"), "lines", [Series("p50", [b["latency_p50_ms"] for b in buckets], PALETTE[2]),
                                       Series("p95", [b["latency_p95_ms"] for b in buckets], PALETTE[5])], ms),
        (gettext("Time to first token (ms)"), "lines", [Series("p50", [b["ttft_p50_ms"] for b in buckets], PALETTE[2]),
                                                   Series("p95", [b["ttft_p95_ms"] for b in buckets], PALETTE[5])], ms),
    ]
    out = []
    for title, kind, series, unit in charts:
        draw = usage_charts.bars if kind == "bars" else usage_charts.lines
        out.append({"title": title, "svg": draw(starts, bucket, series, label=title, unit=unit),
                    "legend": usage_charts.legend(series)})
    return out


def usage_view(request: HttpRequest) -> HttpResponse:
    """The page; wrapped in ``admin.site.admin_view`` (staff login) by gateway/urls.py."""
    if not permissions.can(request.user, RequestLog, "view"):
        raise PermissionDenied
    form = UsageForm(request.GET or {"period": "24h"})
    context: dict[str, Any] = {
        **admin.site.each_context(request), "title": gettext("Usage"), "form": form, "opts": RequestLog._meta,
    }
    if form.is_valid():
        data = form.cleaned_data
        query = usage.UsageQuery(since=data["since"], until=data["until"], bucket=data["bucket"], group=data["group"])
        report = usage.usage_report(query)
        totals = report["totals"]
        context.update(
            report=report,
            period_text=(gettext("%(since)s to %(until)s, in hour buckets") if report["bucket"] == "hour"
                         else gettext("%(since)s to %(until)s, in day buckets")) % {
                "since": formats.date_format(timezone.localtime(report["since"]), "SHORT_DATETIME_FORMAT"),
                "until": formats.date_format(timezone.localtime(report["until"]), "SHORT_DATETIME_FORMAT")},
            cards=[
                (gettext("Requests"), _number(totals["requests"])),
                (gettext("Errors"), f'{_number(totals["errors"])} ({_percent(totals["error_rate"])})'),
                (gettext("Tokens in"), _number(totals["tokens_in"])),
                (gettext("Tokens out"), _number(totals["tokens_out"])),
                (gettext("Latency p50 / p95"), f'{_ms(totals["latency_p50_ms"])} / {_ms(totals["latency_p95_ms"])}'),
                (gettext("Time to first token p50 / p95"),
                 f'{_ms(totals["ttft_p50_ms"])} / {_ms(totals["ttft_p95_ms"])}'),
            ],
            charts=_charts(report),
            group_title={"provider": gettext("By provider"), "key": gettext("By gateway key"),
                         "model": gettext("By model")}[report["group"]],
            groups_table=_table("usage-groups", gettext("Name"), GROUP_COLUMNS, [
                _row(_group_name(g["name"], report["group"]), g["totals"]) for g in report["groups"]]),
            consumers_table=_table("usage-consumers", gettext("Gateway key"), CONSUMER_COLUMNS, [
                {"name": _group_name(c["name"], "key"), "tokens": _number(c["tokens_in"] + c["tokens_out"]),
                 "requests": _number(c["requests"]), "errors": _number(c["errors"]),
                 "tokens_in": _number(c["tokens_in"]), "tokens_out": _number(c["tokens_out"])}
                for c in usage.top_consumers(query)]),
        )
    return TemplateResponse(request, "admin/chat/usage.html", context)


class RecentUsageColumns:
    """ModelAdmin mixin: the last 24 hours of each row of the list (requests, error rate,
    p50 latency, tokens), read for the whole page in two queries (chat/usage.py), shown
    to staff who may read the request log. ``usage_field`` names the request log column
    that ``usage_value(obj)`` matches (``provider_name`` or ``key_id``)."""

    usage_field = "provider_name"

    def usage_value(self, obj: Any) -> Any:
        raise NotImplementedError

    def get_list_display(self, request: HttpRequest) -> Any:
        columns = super().get_list_display(request)  # type: ignore[misc]
        if permissions.can(request.user, RequestLog, "view"):
            return (*columns, "last_24h")
        return columns

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)  # type: ignore[misc]
        if permissions.can(request.user, RequestLog, "view"):
            rows = list(changelist.result_list)  # evaluated once: the template reads the same objects
            stats = usage.recent_stats(self.usage_field, [self.usage_value(obj) for obj in rows])
            for obj in rows:
                obj._usage_24h = stats.get(self.usage_value(obj))
        return changelist

    # One narrow column of four short lines, so the list still fits at 1280 px.
    @admin.display(description=_("last 24 h"))
    def last_24h(self, obj: Any) -> str:
        stats: usage.Stats | None = getattr(obj, "_usage_24h", None)
        if not stats or not stats["requests"]:
            return format_html('<span class="usage-24h-none">{}</span>', gettext("no requests"))
        count = stats["requests"]
        lines = [
            ("requests", ngettext("%(count)s request", "%(count)s requests", count)
             % {"count": usage_charts.compact(count)}),
            ("errors", gettext("%(rate)s errors") % {"rate": _percent(stats["error_rate"])}),
            ("latency", gettext("p50 %(latency)s") % {"latency": _ms(stats["latency_p50_ms"])}),
            ("tokens", gettext("%(count)s tokens") % {
                "count": usage_charts.compact(stats["tokens_in"] + stats["tokens_out"])}),
        ]
        return format_html_join(mark_safe("<br>"), '<span class="usage-24h-{}">{}</span>', lines)
