"""``/api/routes/``: routes (model aliases) with their targets, for staff.

Serializers parse and shape JSON; writes go through ``providers.routes.services``,
like the admin, config import and ``manage.py routes``. Each target shows its
health (``providers.health.breaker``), which is also what ``/api/providers/`` shows per provider.
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import generics, serializers

from ..api import service_errors
from ..api_schema import collection_schema, item_schema
from ..api_strict import StrictSerializer
from ..health import breaker
from ..health.api import HealthSerializer, health_json
from ..models import Route
from ..permissions import ModelPermissions
from . import services as route_services


class RouteTargetSerializer(StrictSerializer):
    provider = serializers.CharField(max_length=64, help_text=gettext_lazy("The provider's name."))
    model = serializers.CharField(required=False, allow_blank=True, default="", max_length=200, help_text=gettext_lazy(
        "The upstream model id; empty: the provider's default model."))
    priority = serializers.IntegerField(required=False, default=0, min_value=0, max_value=route_services.MAX_PRIORITY,
                                        help_text=gettext_lazy("Lower first."))
    weight = serializers.IntegerField(required=False, default=1, min_value=1, max_value=route_services.MAX_WEIGHT,
                                      help_text=gettext_lazy("Share of the traffic within its priority."))
    health = serializers.SerializerMethodField()

    @extend_schema_field(HealthSerializer)
    def get_health(self, obj: Any) -> dict[str, Any]:
        model = obj.model or (obj.provider.settings or {}).get("default_model") or ""
        return health_json(breaker.target_state(breaker.target_key(obj.provider.name, model)))

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {"provider": instance.provider.name, "model": instance.model, "priority": instance.priority,
                "weight": instance.weight, "health": self.get_health(instance)}


class RouteSerializer(StrictSerializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=64, help_text=gettext_lazy(
        "The model id clients send. Letters, digits, dots, hyphens and underscores; no slash."))
    description = serializers.CharField(required=False, allow_blank=True, max_length=200)
    enabled = serializers.BooleanField(required=False, default=True)
    max_attempts = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                            max_value=route_services.MAX_ATTEMPTS, help_text=gettext_lazy(
                                                "Targets tried for one request; null: the gateway default."))
    deadline_seconds = serializers.FloatField(required=False, allow_null=True, help_text=gettext_lazy(
        "Time all attempts may take before the first byte; null: the gateway default."))
    first_byte_timeout = serializers.FloatField(required=False, allow_null=True, help_text=gettext_lazy(
        "One streamed attempt's wait for its first byte; null: the gateway default."))
    fallback_on_client_errors = serializers.BooleanField(required=False, default=False)
    targets = RouteTargetSerializer(many=True, help_text=gettext_lazy(
        "Ordered targets; on PATCH the whole list is replaced when given."))
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance: Route) -> dict[str, Any]:
        breaker.refresh_for_display()
        data = super().to_representation(instance)
        data["targets"] = [RouteTargetSerializer().to_representation(t) for t in instance.targets.all()]
        return data

    def _split(self, data: dict[str, Any]) -> tuple[dict[str, Any], list[route_services.TargetSpec] | None]:
        fields = {k: v for k, v in data.items() if k in route_services.ROUTE_FIELDS}
        targets = data.get("targets")
        return fields, None if targets is None else route_services.targets_from_names(targets)

    def create(self, validated_data: dict[str, Any]) -> Route:
        fields, targets = self._split(validated_data)
        try:
            return route_services.route_create(targets=targets or [], **fields)
        except DjangoValidationError as exc:
            raise service_errors(exc) from None
        except IntegrityError:
            raise serializers.ValidationError({"name": [_("A route with this name already exists.")]}) from None

    def update(self, instance: Route, validated_data: dict[str, Any]) -> Route:
        fields, targets = self._split(validated_data)
        try:
            return route_services.route_update(route=instance, targets=targets, **fields)
        except DjangoValidationError as exc:
            raise service_errors(exc) from None
        except IntegrityError:
            raise serializers.ValidationError({"name": [_("A route with this name already exists.")]}) from None


@collection_schema(RouteSerializer, tag="routes", listing="List routes", create="Create a route")
class RouteListCreateView(generics.ListCreateAPIView):
    permission_classes = [ModelPermissions]
    queryset = Route.objects.prefetch_related("targets__provider").order_by("name")
    serializer_class = RouteSerializer


@item_schema(RouteSerializer, tag="routes", show="Show a route", replace="Replace a route", change="Change a route",
             remove="Remove a route")
class RouteDetailView(generics.RetrieveUpdateDestroyAPIView):
    permission_classes = [ModelPermissions]
    queryset = Route.objects.prefetch_related("targets__provider")
    serializer_class = RouteSerializer

    def perform_destroy(self, instance: Route) -> None:
        route_services.route_delete(route=instance)
