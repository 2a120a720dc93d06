"""The health of a provider or a route target in words, for the admin and the command."""
from __future__ import annotations

from datetime import UTC, datetime

from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext

from .breaker import HealthState


def _when(ts: float) -> str:
    moment = timezone.localtime(datetime.fromtimestamp(ts, tz=UTC))
    return formats.date_format(moment, "SHORT_DATETIME_FORMAT") + moment.strftime(":%S")


def describe(state: HealthState) -> str:
    """“Healthy”, “Cooling down until …”, “Failing since …” or the half-open trial."""
    if state["state"] == "cooling_down" and state["cooling_down_until"]:
        return gettext("Cooling down until %(time)s") % {"time": _when(state["cooling_down_until"])}
    if state["state"] == "half_open":
        return gettext("Cooldown over: the next request is a trial")
    if state["state"] == "failing" and state["failing_since"]:
        return gettext("Failing since %(time)s") % {"time": _when(state["failing_since"])}
    return gettext("Healthy")


def error_rate(state: HealthState) -> str:
    if state["error_rate"] is None:
        return "-"
    return ngettext("%(percent)s%% of %(count)s request", "%(percent)s%% of %(count)s requests",
                    state["requests"]) % {
        "percent": formats.number_format(state["error_rate"] * 100, 1), "count": state["requests"]}


def last_error(state: HealthState) -> str:
    if not state["last_error"] or not state["last_error_at"]:
        return "-"
    return gettext("%(error)s (%(time)s)") % {"error": state["last_error"][:80], "time": _when(state["last_error_at"])}
