"""``GET /api/providers/{id}/models/`` (staff): what the backend reports at its
``/models`` endpoint, passed through as reported (no normalisation, no allowlist).

``/v1/models`` is the normalised, client-facing view; this one is for staff
checking what a backend really offers.
"""
from __future__ import annotations

import json
from typing import Any

from asgiref.sync import async_to_sync
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import catalog, routing
from .adapters.base import Adapter, UpstreamError
from .api import ERROR_RESPONSES
from .models import Provider
from .permissions import Requires
from .redact import redact_for


async def _fetch(adapter: Adapter) -> tuple[int, Any]:
    fetch = getattr(adapter, "fetch_models_raw", None)
    if fetch is None:
        # A wire format without a raw /models call: report what its adapter lists.
        listing = await adapter.list_models()
        if listing.source != "upstream":
            return 404, None
        return 200, listing.raw
    # Under ASGI this runs on the server's loop and its pooled sessions; under WSGI
    # on a short-lived loop, whose sessions are closed when it shuts down.
    return await fetch()


class ProviderModelsView(APIView):
    permission_classes = [Requires.of(Provider, "view")]

    @extend_schema(
        summary=gettext_lazy("Models the backend reports"),
        description=gettext_lazy(
            "The JSON the backend answers at its /models endpoint, unchanged. "
            "502 when the backend has no usable /models endpoint or cannot be reached."
        ),
        responses={
            200: OpenApiResponse(OpenApiTypes.ANY, description=gettext_lazy("The backend's answer, as reported.")),
            **ERROR_RESPONSES,
            404: OpenApiResponse(OpenApiTypes.OBJECT, description=gettext_lazy("No such provider.")),
            502: OpenApiResponse(OpenApiTypes.OBJECT, description=gettext_lazy("The backend failed.")),
            504: OpenApiResponse(OpenApiTypes.OBJECT, description=gettext_lazy("The backend timed out.")),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        provider = get_object_or_404(Provider, pk=pk)
        try:
            config = routing.provider_config(provider)
            adapter = catalog.adapter_class(config.provider_type)(config)
        except Exception:
            return Response(
                {"detail": _("This provider's configuration could not be loaded.")},
                status=status.HTTP_502_BAD_GATEWAY,
            )
        try:
            upstream_status, raw = async_to_sync(_fetch)(adapter)
        except UpstreamError as exc:
            return Response({"detail": redact_for(exc.message, config), "code": exc.code}, status=exc.status)
        if upstream_status >= 400 or raw is None:
            return Response(
                {
                    "detail": _(
                        "The backend has no usable /models endpoint (HTTP %(status)s); "
                        "/v1/models lists the provider's configured models instead."
                    )
                    % {"status": upstream_status},
                    "upstream_status": upstream_status,
                },
                status=status.HTTP_502_BAD_GATEWAY,
            )
        # Unchanged, but for provider secrets an upstream may quote (a "next" URL with ?key=...).
        text = json.dumps(raw)
        masked = redact_for(text, config)
        return Response(raw if masked == text else json.loads(masked))
