"""``POST /api/providers/{id}/test/`` (staff): test a provider's connection.

Answers reachable or not, the latency, how many models the backend reports and a
one-line cause on failure, in the caller's language (``Accept-Language``). With
``{"probe": true}`` the capability checklist is run as well.
"""
from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api_schema import ERROR_RESPONSES, NOT_FOUND_RESPONSE, VALIDATION_RESPONSE
from ..api_strict import StrictSerializer
from ..models import Provider
from ..permissions import Requires
from . import probe


class ProviderTestInput(StrictSerializer):
    probe = serializers.BooleanField(
        required=False, default=False, help_text=gettext_lazy("Also run the capability checklist.")
    )
    timeout = serializers.FloatField(
        required=False, min_value=0.1, max_value=60, help_text=gettext_lazy("Seconds to wait for each request.")
    )


ConnectionOutput = inline_serializer(
    name="ProviderConnectionCheck",
    fields={
        "ok": serializers.BooleanField(),
        "reachable": serializers.BooleanField(),
        "latency_ms": serializers.IntegerField(allow_null=True),
        "model_count": serializers.IntegerField(allow_null=True),
        "models": serializers.ListField(child=serializers.CharField()),
        "cause": serializers.CharField(),
        "status": serializers.IntegerField(allow_null=True),
        "message": serializers.CharField(),
        "suggested_base_url": serializers.CharField(allow_null=True),
        "probe": serializers.JSONField(
            required=False,
            help_text=gettext_lazy("With probe=true: the checklist, its items and the suggested change."),
        ),
    },
)


class ProviderTestView(APIView):
    permission_classes = [Requires.of(Provider, "view")]

    @extend_schema(
        summary=gettext_lazy("Test a provider's connection"),
        description=gettext_lazy(
            "Tests what the type needs to chat: the backend's /models endpoint; for anthropic and codex "
            "without a usable listing, a one-word request to the configured model; for program-based types, "
            "a one-word prompt to the program. Reports reachable or not, the latency, the number of models "
            "and a one-line cause on failure (DNS, refused, TLS, 401, 404 on /models, the backend's own "
            "reason, the program's error, timeout). "
            "When the base URL does not answer but a usual variant does, suggested_base_url names it. "
            "With probe=true the answer also carries the capability checklist."
        ),
        tags=["providers"],
        request=ProviderTestInput,
        responses={
            200: OpenApiResponse(ConnectionOutput, description=gettext_lazy("The check ran (see ok).")),
            400: VALIDATION_RESPONSE,
            404: NOT_FOUND_RESPONSE,
            **ERROR_RESPONSES,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        provider = get_object_or_404(Provider, pk=pk)
        options = ProviderTestInput(data=request.data)
        options.is_valid(raise_exception=True)
        timeout = options.validated_data.get("timeout")
        if options.validated_data.get("probe"):
            report = probe.probe_provider(provider, timeout=timeout)
            return Response({**report.connection.as_dict(), "probe": report.as_dict()})
        return Response(probe.check_connection(provider, timeout=timeout).as_dict())
