"""``GET /api/requests/`` and ``GET /api/requests/{id}/``: the request log for staff
with ``chat.view_requestlog``, filtered like the admin's list (chat/selectors.py).
Read-only: rows are made by the gateway and deleted by retention only."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter
from rest_framework import generics, serializers

from providers.api_schema import collection_schema, item_schema
from providers.api_strict import StrictSerializer
from providers.permissions import ModelPermissions

from . import selectors
from .models import Outcome, RequestLog, Surface

# Query parameters that are not filters.
_NOT_FILTERS = frozenset({"page", "format"})


class RequestFilterSerializer(StrictSerializer):
    """The query string of ``GET /api/requests/``; unknown parameters are field errors."""

    provider = serializers.CharField(required=False, max_length=64, help_text=gettext_lazy("Provider name."))
    key = serializers.CharField(required=False, max_length=64, help_text=gettext_lazy("Gateway key name."))
    key_id = serializers.IntegerField(required=False, min_value=1, help_text=gettext_lazy("Gateway key id."))
    model = serializers.CharField(required=False, max_length=200,
                                  help_text=gettext_lazy("The model asked for, or the upstream model."))
    status = serializers.IntegerField(required=False, min_value=100, max_value=999,
                                      help_text=gettext_lazy("HTTP status (499: the client left first)."))
    status_class = serializers.ChoiceField(required=False, choices=selectors.STATUS_CLASSES)
    outcome = serializers.ChoiceField(required=False, choices=Outcome.choices)
    surface = serializers.ChoiceField(required=False, choices=Surface.choices)
    stream = serializers.BooleanField(required=False, allow_null=True, default=None)
    since = serializers.DateTimeField(required=False, help_text=gettext_lazy("From this time (inclusive)."))
    until = serializers.DateTimeField(required=False, help_text=gettext_lazy("Before this time."))
    search = serializers.CharField(required=False, max_length=200,
                                   help_text=gettext_lazy("Text in the model ids, error code or error cause."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since and until and until <= since:
            raise serializers.ValidationError({"until": [gettext_lazy("Must be later than “since”.")]})
        return attrs


class RequestLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = RequestLog
        fields = list(selectors.LIST_FIELDS)
        read_only_fields = fields


class RequestLogDetailSerializer(RequestLogSerializer):
    class Meta(RequestLogSerializer.Meta):
        fields = [*selectors.LIST_FIELDS, "request_body", "response_body"]
        read_only_fields = fields


FILTER_PARAMETERS = [
    OpenApiParameter(name, type=field_type, description=str(description))
    for name, field_type, description in (
        ("provider", str, gettext_lazy("Provider name.")),
        ("key", str, gettext_lazy("Gateway key name.")),
        ("key_id", int, gettext_lazy("Gateway key id.")),
        ("model", str, gettext_lazy("The model asked for, or the upstream model.")),
        ("status", int, gettext_lazy("HTTP status (499: the client left first).")),
        ("stream", bool, gettext_lazy("Streamed or not.")),
        ("since", str, gettext_lazy("From this time (inclusive), ISO 8601.")),
        ("until", str, gettext_lazy("Before this time, ISO 8601.")),
        ("search", str, gettext_lazy("Text in the model ids, error code or error cause.")),
    )
] + [
    OpenApiParameter("status_class", str, enum=list(selectors.STATUS_CLASSES)),
    OpenApiParameter("outcome", str, enum=list(Outcome.values)),
    OpenApiParameter("surface", str, enum=list(Surface.values)),
]


@collection_schema(RequestLogSerializer, tag="request log", listing="List requests", filters=FILTER_PARAMETERS)
class RequestLogListView(generics.ListAPIView):
    permission_classes = [ModelPermissions]
    queryset = RequestLog.objects.all()
    serializer_class = RequestLogSerializer

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        # Here, not in get_queryset: the permission check reads that first, and a
        # refused user must get 403, not the field errors of their query.
        params = {k: v for k, v in self.request.query_params.items() if k not in _NOT_FILTERS}
        query = RequestFilterSerializer(data=params)
        query.is_valid(raise_exception=True)
        return selectors.request_log_list(selectors.RequestFilters(**query.validated_data))


@item_schema(RequestLogDetailSerializer, tag="request log",
             show="Show a request, with its bodies when they were recorded")
class RequestLogDetailView(generics.RetrieveAPIView):
    permission_classes = [ModelPermissions]
    queryset = RequestLog.objects.all()
    serializer_class = RequestLogDetailSerializer
