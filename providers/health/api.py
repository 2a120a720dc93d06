"""The health of a provider or a route target as the REST API shows it."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext_lazy
from rest_framework import serializers

from . import breaker


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat() if ts else None


class HealthSerializer(serializers.Serializer):
    """A provider's or a target's passive health (``providers.health.breaker``)."""

    state = serializers.ChoiceField(
        choices=["healthy", "failing", "cooling_down", "half_open"],
        help_text=gettext_lazy("healthy; failing (errors in the window, still used); cooling_down (skipped until "
                               "cooling_down_until); half_open (one trial request decides)."),
    )
    cooling_down_until = serializers.DateTimeField(allow_null=True)
    failing_since = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)
    last_error_at = serializers.DateTimeField(allow_null=True)
    error_rate = serializers.FloatField(allow_null=True, help_text=gettext_lazy(
        "Failures per request in the health window; null without traffic."))
    requests = serializers.IntegerField(help_text=gettext_lazy("Requests counted in the health window."))


def health_json(state: breaker.HealthState) -> dict[str, Any]:
    return {**state, "cooling_down_until": _iso(state["cooling_down_until"]),
            "failing_since": _iso(state["failing_since"]), "last_error_at": _iso(state["last_error_at"])}
