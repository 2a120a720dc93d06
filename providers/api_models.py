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
from .adapters.base import Adapter, ProviderConfig, UpstreamError
from .api_schema import ERROR_RESPONSES
from .models import Provider
from .onboarding.probe import upstream_detail
from .permissions import Requires
from .redact import redact_for


async def _fetch(adapter: Adapter) -> tuple[int, Any] | None:
    """(HTTP status, parsed JSON or None) of the backend's listing; None for a type
    that has no listing to ask for (it lists its configured models)."""
    # Under ASGI this runs on the server's loop and its pooled sessions; under WSGI
    # on a short-lived loop, whose sessions are closed when it shuts down.
    return await adapter.fetch_models_raw()


def _failure(upstream_status: int, raw: Any, config: ProviderConfig) -> Response:
    """What happened, in words: the key refused, no listing, or the backend's own reason."""
    if upstream_status in (401, 403):
        detail = _("The backend refused the API key (HTTP %(status)s).") % {"status": upstream_status}
        code = "upstream_unauthorized"
    elif upstream_status == 404 or upstream_status < 400:
        detail = _(
            "The backend has no usable /models endpoint (HTTP %(status)s); "
            "/v1/models lists the provider's configured models instead."
        ) % {"status": upstream_status}
        code = "no_models_endpoint"
    else:
        reason = upstream_detail(json.dumps(raw)) if raw is not None else ""
        detail = (_("The backend answered HTTP %(status)s: %(detail)s") % {"status": upstream_status, "detail": reason}
                  if reason else _("The backend answered HTTP %(status)s.") % {"status": upstream_status})
        code = "upstream_error"
    return Response({"detail": redact_for(detail, config), "code": code, "upstream_status": upstream_status},
                    status=status.HTTP_502_BAD_GATEWAY)


def _no_listing(config: ProviderConfig, adapter: Adapter) -> Response:
    """A type that makes no listing call: say so (never an HTTP status it did not get)."""
    if catalog.get_type(config.provider_type).transport == "subprocess":
        detail = _("The type “%(type)s” runs a program and makes no HTTP call to list models; "
                   "/v1/models lists the models configured in its settings.")
    else:
        detail = _("The type “%(type)s” has no model listing to ask for; "
                   "/v1/models lists the models configured in its settings.")
    models = [m["id"] for m in adapter.configured_models().models]
    return Response({"detail": detail % {"type": config.provider_type}, "code": "no_listing",
                     "configured_models": models}, status=status.HTTP_404_NOT_FOUND)


class ProviderModelsView(APIView):
    permission_classes = [Requires.of(Provider, "view")]

    @extend_schema(
        summary=gettext_lazy("Models the backend reports"),
        description=gettext_lazy(
            "The JSON the backend answers at its /models endpoint, unchanged. "
            "502 when the backend refuses the key, has no usable /models endpoint or cannot be reached "
            "(code and detail say which); 404 with code no_listing for a type that has no listing "
            "(program-based types, Codex), with the models configured in its settings."
        ),
        responses={
            200: OpenApiResponse(OpenApiTypes.ANY, description=gettext_lazy("The backend's answer, as reported.")),
            **ERROR_RESPONSES,
            404: OpenApiResponse(OpenApiTypes.OBJECT, description=gettext_lazy(
                "No such provider, or (code no_listing) a type without a model listing.")),
            502: OpenApiResponse(OpenApiTypes.OBJECT, description=gettext_lazy("The backend failed.")),
            504: OpenApiResponse(OpenApiTypes.OBJECT, description=gettext_lazy("The backend timed out.")),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        provider = get_object_or_404(Provider, pk=pk)
        try:
            config = routing.provider_config(provider)
            adapter = catalog.adapter_class(config.provider_type)(config)
        except Exception:  # noqa: BLE001 -- a broken row is answered, not raised
            return Response(
                {"detail": _("This provider's configuration could not be loaded.")},
                status=status.HTTP_502_BAD_GATEWAY,
            )
        try:
            fetched = async_to_sync(_fetch)(adapter)
        except UpstreamError as exc:
            return Response({"detail": redact_for(exc.message, config), "code": exc.code}, status=exc.status)
        if fetched is None:
            return _no_listing(config, adapter)
        upstream_status, raw = fetched
        if upstream_status >= 400 or raw is None:
            return _failure(upstream_status, raw, config)
        # Unchanged, but for provider secrets an upstream may quote (a "next" URL with ?key=...).
        text = json.dumps(raw)
        masked = redact_for(text, config)
        return Response(raw if masked == text else json.loads(masked))
