"""``GET /api/usage/``: the request log aggregated (chat/usage.py), for staff with
``chat.view_requestlog``. Grouped by provider, key or model, in hour or day buckets,
with totals; bad parameters are field errors."""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from providers.api_schema import ERROR_RESPONSES, VALIDATION_RESPONSE
from providers.api_strict import StrictSerializer
from providers.permissions import Requires

from . import usage
from .models import RequestLog


class UsageQuerySerializer(StrictSerializer):
    """The query string; unknown parameters are field errors."""

    group = serializers.ChoiceField(choices=list(usage.GROUPS), default="provider",
                                    help_text=gettext_lazy("What to break the usage down by."))
    bucket = serializers.ChoiceField(choices=list(usage.BUCKETS), default="hour",
                                     help_text=gettext_lazy("The size of each time bucket."))
    since = serializers.DateTimeField(required=False, help_text=gettext_lazy(
        "From this time (inclusive). Default: 24 hours ago for hour buckets, 30 days ago for day buckets."))
    until = serializers.DateTimeField(required=False, help_text=gettext_lazy("Before this time. Default: now."))
    provider = serializers.CharField(required=False, max_length=64, help_text=gettext_lazy("Provider name."))
    key = serializers.CharField(required=False, max_length=64, help_text=gettext_lazy("Gateway key name."))
    model = serializers.CharField(required=False, max_length=200,
                                  help_text=gettext_lazy("The model asked for, or the upstream model."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = usage.default_period(attrs["bucket"], attrs.get("until"))
        attrs.setdefault("since", since)
        attrs.setdefault("until", until)
        problem = usage.period_problem(attrs["since"], attrs["until"], attrs["bucket"])
        if problem:
            raise serializers.ValidationError({"since": [problem]})
        return attrs


class StatsSerializer(serializers.Serializer):
    requests = serializers.IntegerField()
    # A field, not Serializer.errors: DRF's metaclass takes declared fields out of the class.
    errors = serializers.IntegerField(  # type: ignore[assignment]
        help_text=gettext_lazy("Requests that did not succeed (any error or refusal)."))
    error_rate = serializers.FloatField(allow_null=True)
    tokens_in = serializers.IntegerField()
    tokens_out = serializers.IntegerField()
    tokens_reasoning = serializers.IntegerField()
    tokens_unknown = serializers.IntegerField(help_text=gettext_lazy("Requests whose token counts were not reported."))
    latency_p50_ms = serializers.IntegerField(allow_null=True)
    latency_p95_ms = serializers.IntegerField(allow_null=True)
    ttft_p50_ms = serializers.IntegerField(allow_null=True)
    ttft_p95_ms = serializers.IntegerField(allow_null=True)


class BucketSerializer(StatsSerializer):
    start = serializers.DateTimeField()


class GroupSerializer(serializers.Serializer):
    name = serializers.CharField(help_text=gettext_lazy(
        "The provider, key or model; empty for requests without one; “(other)” sums the groups past the first 50."))
    totals = StatsSerializer()
    buckets = BucketSerializer(many=True)


class UsageSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    bucket = serializers.CharField()
    group = serializers.CharField()
    sampled = serializers.BooleanField(help_text=gettext_lazy(
        "Percentiles were computed over an even sample of the rows (the period held more than "
        "GATEWAY_USAGE_SAMPLE_ROWS); counts and sums are always exact."))
    totals = StatsSerializer()
    buckets = BucketSerializer(many=True)
    groups = GroupSerializer(many=True)


class UsageView(APIView):
    permission_classes = [Requires.of(RequestLog, "view")]

    @extend_schema(
        summary="Usage over a period", tags=["request log"],
        parameters=[
            OpenApiParameter("group", str, enum=list(usage.GROUPS), description="provider, key or model"),
            OpenApiParameter("bucket", str, enum=list(usage.BUCKETS), description="hour or day"),
            OpenApiParameter("since", str, description="ISO 8601"),
            OpenApiParameter("until", str, description="ISO 8601"),
            OpenApiParameter("provider", str), OpenApiParameter("key", str), OpenApiParameter("model", str),
        ],
        responses={200: UsageSerializer, 400: VALIDATION_RESPONSE, **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        query = UsageQuerySerializer(data={k: v for k, v in request.query_params.items() if k != "format"})
        query.is_valid(raise_exception=True)
        report = usage.usage_report(usage.UsageQuery(**query.validated_data))
        return Response(UsageSerializer(report).data)
