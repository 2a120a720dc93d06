"""The OpenAPI description every staff API view shares: the shapes of its errors, and
what a list or detail view answers to each method (``collection_schema``,
``item_schema``), so that providers, gateway keys, routes and the request log say it
the same way.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers

View = TypeVar("View", bound=Callable[..., Any])  # a view class


class ErrorDetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


ERROR_RESPONSES = {
    401: OpenApiResponse(ErrorDetailSerializer, description=gettext_lazy("Not authenticated.")),
    403: OpenApiResponse(ErrorDetailSerializer, description=gettext_lazy("Not a staff user, or lacks the permission.")),
}
VALIDATION_RESPONSE = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description=gettext_lazy("Field errors: an object mapping each field name to a list of messages."),
)
NOT_FOUND_RESPONSE = OpenApiResponse(ErrorDetailSerializer, description=gettext_lazy("No such object."))
INVALID_PAGE_RESPONSE = OpenApiResponse(ErrorDetailSerializer, description=gettext_lazy("No such page."))


def _request(serializer: type[serializers.Serializer] | None) -> dict[str, Any]:
    # Only when given: extend_schema(request=None) would say the method takes no body.
    return {} if serializer is None else {"request": serializer}


def collection_schema(
    serializer: type[serializers.Serializer], *, tag: str, listing: str, create: str | None = None,
    create_request: type[serializers.Serializer] | None = None, created: type[serializers.Serializer] | None = None,
    filters: list[OpenApiParameter] | None = None,
) -> Callable[[View], View]:
    """``GET`` a page of objects (``filters``: its query parameters, whose errors are a 400)
    and, with ``create``, ``POST`` one (answered 201 with ``created``, else ``serializer``).
    ``listing`` and ``create`` are the summaries."""
    filtered: dict[str, Any] = {"parameters": filters} if filters else {}
    methods = {"get": extend_schema(
        summary=listing, tags=[tag], **filtered,
        responses={200: serializer(many=True), **({400: VALIDATION_RESPONSE} if filters else {}),
                   404: INVALID_PAGE_RESPONSE, **ERROR_RESPONSES})}
    if create is not None:
        methods["post"] = extend_schema(summary=create, tags=[tag], **_request(create_request), responses={
            201: created or serializer, 400: VALIDATION_RESPONSE, **ERROR_RESPONSES})
    return extend_schema_view(**methods)


def item_schema(
    serializer: type[serializers.Serializer], *, tag: str, show: str, replace: str | None = None,
    change: str | None = None, change_request: type[serializers.Serializer] | None = None, remove: str | None = None,
) -> Callable[[View], View]:
    """``GET`` one object, and ``PUT``, ``PATCH`` and ``DELETE`` it for the summaries given."""
    methods = {"get": extend_schema(summary=show, tags=[tag], responses={
        200: serializer, 404: NOT_FOUND_RESPONSE, **ERROR_RESPONSES})}
    for method, summary, request in (("put", replace, None), ("patch", change, change_request)):
        if summary is not None:
            methods[method] = extend_schema(summary=summary, tags=[tag], **_request(request), responses={
                200: serializer, 400: VALIDATION_RESPONSE, 404: NOT_FOUND_RESPONSE, **ERROR_RESPONSES})
    if remove is not None:
        methods["delete"] = extend_schema(summary=remove, tags=[tag], responses={
            204: None, 404: NOT_FOUND_RESPONSE, **ERROR_RESPONSES})
    return extend_schema_view(**methods)
