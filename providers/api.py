"""The staff REST API for the provider store (``/api/providers/``, ``/api/provider-types/``,
``/api/gateway-keys/``).

Serializers only parse and shape JSON; every write goes through ``providers.services``,
so the API, the admin and the import command validate identically. Secrets are
write-only: responses carry ``has_api_key``/``api_key_hint``, header names and the names
of ``extra_query``/``env`` entries with a last-4 hint, never a key or a secret value.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat import budgets

from . import catalog, key_controls, secret_settings, selectors, services
from .api_schema import ERROR_RESPONSES, NOT_FOUND_RESPONSE, collection_schema, item_schema
from .api_strict import NameSlugField, StrictModelSerializer, StrictSerializer
from .health import breaker
from .health.api import HealthSerializer, health_json
from .models import GatewayKey, Provider
from .permissions import ModelPermissions, Requires

LANGUAGE_CODES: list[str] = [code for code, _name in django_settings.LANGUAGES]

# DRF's own messages that this API can answer with. DRF ships no Vietnamese for most of
# them; listing them here puts them in the project catalog, which takes precedence.
DRF_MESSAGES = (
    gettext_noop("Authentication credentials were not provided."),
    gettext_noop("Incorrect authentication credentials."),
    gettext_noop("Invalid token."),
    gettext_noop("Invalid token header. No credentials provided."),
    gettext_noop("Invalid token header. Token string should not contain spaces."),
    gettext_noop("Invalid token header. Token string should not contain invalid characters."),
    gettext_noop("User inactive or deleted."),
    gettext_noop("You do not have permission to perform this action."),
    gettext_noop("Not found."),
    gettext_noop("Invalid page."),
    gettext_noop("Malformed request."),
    gettext_noop("Invalid input."),
    gettext_noop("A server error occurred."),
    gettext_noop("Request was throttled."),
    gettext_noop('Method "{method}" not allowed.'),
    gettext_noop('Unsupported media type "{media_type}" in request.'),
    gettext_noop("Could not satisfy the request Accept header."),
    gettext_noop("This field is required."),
    gettext_noop("This field may not be null."),
    gettext_noop("This field may not be blank."),
    gettext_noop("Not a valid string."),
    gettext_noop("Must be a valid boolean."),
    gettext_noop("A valid integer is required."),
    gettext_noop("Ensure this value is greater than or equal to {min_value}."),
    gettext_noop("Ensure this value is less than or equal to {max_value}."),
    gettext_noop("Ensure this field has no more than {max_length} characters."),
    gettext_noop("String value too large."),
    gettext_noop("Value must be valid JSON."),
    gettext_noop("Invalid data. Expected a dictionary, but got {datatype}."),
    gettext_noop('Expected a dictionary of items but got type "{input_type}".'),
    gettext_noop('Expected a list of items but got type "{input_type}".'),
    gettext_noop('"{input}" is not a valid choice.'),
    gettext_noop("Object with {slug_name}={value} does not exist."),
    gettext_noop('Invalid pk "{pk_value}" - object does not exist.'),
    gettext_noop("Surrogate characters are not allowed: U+{code_point:X}."),
)


def _lang_attr(code: str) -> str:
    return f"display_name_{code.replace('-', '_')}"


def service_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    """A services ValidationError as DRF field errors (``{"field": ["message", ...]}``)."""
    if hasattr(exc, "error_dict"):
        return serializers.ValidationError(exc.message_dict)
    return serializers.ValidationError({"non_field_errors": exc.messages})


@extend_schema_field({"type": "object", "additionalProperties": True})
class SettingsField(serializers.JSONField):
    """The type-specific settings object; ``providers.provider_settings`` validates it."""


# name -> last 4 characters of the value ("" when the value is too short to hint at)
HINTS_SCHEMA = {"type": "object", "additionalProperties": {"type": "string"}}


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}, "nullable": True})
class HeadersField(serializers.JSONField):
    """Header names to values; ``providers.services`` validates the shape."""


DisplayNamesSerializer = type(
    "DisplayNamesSerializer",
    (StrictSerializer,),
    {
        code: serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=200)
        for code in LANGUAGE_CODES
    },
)


class ProviderSerializer(StrictSerializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(
        max_length=64,
        # No angle brackets: the browsable API renders help text as HTML (and the schema shows it raw).
        help_text=gettext_lazy("Short identifier used in model ids: “name/model”."
                               " Letters, digits, hyphens and underscores."),
    )
    display_name = serializers.CharField(
        required=False, allow_blank=True, max_length=200,
        help_text=gettext_lazy("Display name in the language of the request (English when it has none)."),
    )
    display_names = DisplayNamesSerializer(
        required=False, help_text=gettext_lazy("Display names per language: en, vi, zh-hans.")
    )
    provider_type = serializers.CharField(
        max_length=32,
        help_text=gettext_lazy("A key of the provider catalog (GET /api/provider-types/), e.g. “custom”."),
    )
    provider_type_label = serializers.CharField(source="type_label", read_only=True)
    base_url = serializers.CharField(required=False, allow_blank=True, max_length=500)
    api_key = serializers.CharField(
        write_only=True, required=False, allow_blank=True, allow_null=True, max_length=4096,
        style={"input_type": "password"},
        help_text=gettext_lazy("Write-only. Leave out or send an empty value to keep the stored key."),
    )
    clear_api_key = serializers.BooleanField(
        write_only=True, required=False, default=False,
        help_text=gettext_lazy("Set to true to remove the stored API key."),
    )
    has_api_key = serializers.BooleanField(read_only=True)
    api_key_hint = serializers.CharField(read_only=True, help_text=gettext_lazy("The last 4 characters of the key."))
    extra_headers = HeadersField(
        write_only=True, required=False, allow_null=True,
        help_text=gettext_lazy("Write-only extra HTTP headers sent upstream."
                               " Leave out to keep them; send {} to remove them."),
    )
    extra_header_names = serializers.SerializerMethodField()
    extra_header_hints = serializers.SerializerMethodField()
    settings = SettingsField(
        required=False,
        help_text=gettext_lazy(
            "The type's settings. The values of “extra_query” and “env” are secrets: stored encrypted, never "
            "returned (see “secret_setting_hints”). They are written per name: a map left out keeps every stored "
            "name, a name set to null is removed, and “extra_query”: null or “env”: null removes them all."
        ),
    )
    secret_setting_hints = serializers.SerializerMethodField()
    enabled = serializers.BooleanField(required=False, default=True)
    health = serializers.SerializerMethodField(help_text=gettext_lazy(
        "Passive health: the worst state of the provider's targets, its last error and error rate."))
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(HealthSerializer)
    def get_health(self, obj: Provider) -> dict[str, Any]:
        return health_json(breaker.provider_state(obj.name))

    @extend_schema_field({"type": "array", "items": {"type": "string"}})
    def get_extra_header_names(self, obj: Provider) -> list[str]:
        return sorted(obj.extra_headers or {})

    @extend_schema_field(HINTS_SCHEMA)
    def get_extra_header_hints(self, obj: Provider) -> dict[str, str]:
        return {name: secret_settings.hint(value) for name, value in sorted((obj.extra_headers or {}).items())}

    @extend_schema_field({"type": "object", "properties": {name: HINTS_SCHEMA for name in secret_settings.SECRET_MAPS}})
    def get_secret_setting_hints(self, obj: Provider) -> dict[str, dict[str, str]]:
        """``{"extra_query": {"key": "abcd"}, "env": {...}}``: the stored names, never a value."""
        return secret_settings.hints(obj.secret_settings)

    def to_representation(self, instance: Provider) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["display_names"] = {code: getattr(instance, _lang_attr(code), None) or "" for code in LANGUAGE_CODES}
        data["display_name"] = instance.display_name or ""
        data["api_key_hint"] = instance.api_key_hint or ""
        return data

    def _service_kwargs(self, data: dict[str, Any]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        for field in ("name", "provider_type", "base_url", "settings", "enabled", "display_name"):
            if field in data:
                kwargs[field] = data[field]
        if "extra_headers" in data:
            headers = data["extra_headers"]
            kwargs["extra_headers"] = None if headers in (None, {}) else headers
        if data.get("api_key"):
            kwargs["api_key"] = data["api_key"]
        names = data.get("display_names")
        if names:
            kwargs["display_names"] = {code: value or "" for code, value in names.items() if value is not None}
        return kwargs

    def create(self, validated_data: dict[str, Any]) -> Provider:
        kwargs = self._service_kwargs(validated_data)
        try:
            return services.provider_create(**kwargs)
        except DjangoValidationError as exc:
            raise service_errors(exc) from None
        except IntegrityError:
            raise serializers.ValidationError({"name": [_("A provider with this name already exists.")]}) from None

    def update(self, instance: Provider, validated_data: dict[str, Any]) -> Provider:
        kwargs = self._service_kwargs(validated_data)
        try:
            return services.provider_update(
                provider=instance, clear_api_key=bool(validated_data.get("clear_api_key")), **kwargs
            )
        except DjangoValidationError as exc:
            raise service_errors(exc) from None
        except IntegrityError:
            raise serializers.ValidationError({"name": [_("A provider with this name already exists.")]}) from None


class ProviderTypeSerializer(serializers.Serializer):
    key = serializers.CharField()
    # A field named ``label`` (the API's key) shadows DRF's ``Field.label`` text for type checkers only.
    label = serializers.CharField()  # type: ignore[assignment]
    description = serializers.CharField()
    transport = serializers.CharField()
    requires_base_url = serializers.BooleanField()
    default_base_url = serializers.CharField()
    accepts_api_key = serializers.BooleanField()
    requires_api_key = serializers.BooleanField()
    default_settings = serializers.DictField()


@collection_schema(ProviderSerializer, tag="providers", listing="List providers", create="Register a provider")
class ProviderListCreateView(generics.ListCreateAPIView):
    permission_classes = [ModelPermissions]
    queryset = selectors.provider_list()
    serializer_class = ProviderSerializer


@item_schema(ProviderSerializer, tag="providers", show="Show a provider", replace="Replace a provider",
             change="Change a provider", remove="Remove a provider")
class ProviderDetailView(generics.RetrieveUpdateDestroyAPIView):
    permission_classes = [ModelPermissions]
    queryset = Provider.objects.all()
    serializer_class = ProviderSerializer

    def perform_destroy(self, instance: Provider) -> None:
        services.provider_delete(provider=instance)


class ProviderTypeListView(APIView):
    """The provider catalog: every type the gateway knows, with its label in the request's language."""

    permission_classes = [Requires.of(Provider, "view")]

    @extend_schema(summary="List provider types", tags=["providers"],
                   responses={200: ProviderTypeSerializer(many=True), **ERROR_RESPONSES})
    def get(self, request: Request) -> Response:
        rows = [
            {
                "key": t.key,
                "label": str(t.label),
                "description": str(t.description),
                "transport": t.transport,
                "requires_base_url": t.uses_base_url and t.requires_base_url,
                "default_base_url": t.default_base_url,
                "accepts_api_key": t.accepts_api_key,
                "requires_api_key": t.requires_api_key,
                "default_settings": dict(t.default_settings),
            }
            for t in catalog.PROVIDER_TYPES.values()
        ]
        return Response(ProviderTypeSerializer(rows, many=True).data)


# Gateway keys -----------------------------------------------------------------


class ModelPatternsListField(serializers.ListField):
    """``allowed_models``: a list of model ids or patterns, checked by ``key_controls``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.CharField(allow_blank=False, trim_whitespace=False,
                                                     max_length=key_controls.MAX_PATTERN_LENGTH),
                         max_length=key_controls.MAX_PATTERNS, **kwargs)


_BUDGET_HELP = {
    "requests_per_day": gettext_lazy("Requests per UTC day; null: unlimited."),
    "requests_per_month": gettext_lazy("Requests per UTC month; null: unlimited."),
    "tokens_per_day": gettext_lazy("Tokens per UTC day (the usage upstreams report); null: unlimited."),
    "tokens_per_month": gettext_lazy("Tokens per UTC month (the usage upstreams report); null: unlimited."),
}
KEY_CONTROL_KWARGS: dict[str, dict[str, Any]] = {
    "expires_at": {"required": False, "allow_null": True, "help_text": gettext_lazy(
        "When the key stops working (ISO 8601); null: never. Refused with 401 key_expired from then on.")},
    **{name: {"required": False, "allow_null": True, "min_value": 1, "max_value": key_controls.MAX_BUDGET,
              "help_text": help_text} for name, help_text in _BUDGET_HELP.items()},
}
_ALLOWED_MODELS_HELP = gettext_lazy(
    "Model ids or patterns this key may use (“vllm/*”, “chat-default”, “openrouter/anthropic/*”; * matches "
    "anything). Empty: every model of its providers. /v1/models shows only these.")
_USE_SCHEMA = {"type": "object", "properties": {
    "used": {"type": "integer", "nullable": True}, "limit": {"type": "integer", "nullable": True},
    "resets_at": {"type": "string", "format": "date-time"}}}
USAGE_SCHEMA = {"type": "object", "properties": {name: _USE_SCHEMA for name in key_controls.BUDGET_FIELDS}}


class GatewayKeySerializer(StrictModelSerializer):
    allowed_models = ModelPatternsListField(required=False, help_text=_ALLOWED_MODELS_HELP)
    providers: NameSlugField = NameSlugField(
        many=True, required=False, slug_field="name", queryset=Provider.objects.all(),
        help_text=gettext_lazy("Names of the providers this key may use when “all_providers” is false."),
    )
    all_providers = serializers.BooleanField(
        required=False,
        help_text=gettext_lazy("True: every provider, present and future. False: only “providers”; a key whose "
                               "providers were all deleted is refused (no provider left), never widened. "
                               "Left out on create: true when “providers” is empty."),
    )
    no_provider_left = serializers.BooleanField(
        read_only=True, help_text=gettext_lazy("Restricted, and every provider it was restricted to was deleted.")
    )
    is_active = serializers.BooleanField(read_only=True)
    is_expired = serializers.BooleanField(read_only=True)
    usage = serializers.SerializerMethodField(
        help_text=gettext_lazy("Use against each budget in its current UTC window: “used” (null when the budget "
                               "is not set, or the counters cannot be read), “limit” and “resets_at”.")
    )

    class Meta:
        model = GatewayKey
        fields = ["id", "name", "prefix", "all_providers", "providers", "no_provider_left",
                  "allowed_models", "expires_at", "rate_limit_rpm", "rate_limit_tpm", *key_controls.BUDGET_FIELDS,
                  "record_bodies", "usage", "created_at", "last_used_at", "revoked_at", "is_active", "is_expired"]
        read_only_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
        # Name validation (format, uniqueness) is the service's, and so is the check of the controls.
        extra_kwargs: dict[str, dict[str, Any]] = {"name": {"validators": []}, **KEY_CONTROL_KWARGS}

    @extend_schema_field(USAGE_SCHEMA)
    def get_usage(self, obj: GatewayKey) -> dict[str, Any]:
        known = self.context.get("usage")
        if known is not None and obj.pk in known:
            return known[obj.pk]
        return budgets.usage([obj])[obj.pk]


class GatewayKeyCreatedSerializer(GatewayKeySerializer):
    key = serializers.CharField(read_only=True, help_text=gettext_lazy("The secret key. Shown once, never again."))

    class Meta(GatewayKeySerializer.Meta):
        fields = [*GatewayKeySerializer.Meta.fields, "key"]


@collection_schema(GatewayKeySerializer, tag="gateway keys", listing="List gateway keys", create="Create a gateway key",
                   create_request=GatewayKeySerializer, created=GatewayKeyCreatedSerializer)
class GatewayKeyListCreateView(generics.ListCreateAPIView):
    permission_classes = [ModelPermissions]
    queryset = selectors.gateway_key_list()
    serializer_class = GatewayKeySerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The budget use of the whole page in one cache call, not one per key.
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = list(page if page is not None else queryset)
        context = {**self.get_serializer_context(), "usage": budgets.usage(rows)}
        data = GatewayKeySerializer(rows, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            key, raw = services.gateway_key_create(
                name=data["name"],
                providers=data.get("providers") or [],
                all_providers=data.get("all_providers"),
                rate_limit_rpm=data.get("rate_limit_rpm"),
                rate_limit_tpm=data.get("rate_limit_tpm"),
                record_bodies=bool(data.get("record_bodies", False)),
                **{name: data[name] for name in key_controls.CONTROL_FIELDS if name in data},
            )
        except DjangoValidationError as exc:
            raise service_errors(exc) from None
        except IntegrityError:  # a concurrent create with the same name
            raise serializers.ValidationError({"name": [_("A gateway key with this name already exists.")]}) from None
        body = GatewayKeyCreatedSerializer(key).data
        body["key"] = raw
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class GatewayKeyScopeSerializer(StrictModelSerializer):
    """What may change on a key: its scope, limits, expiry, model allowlist and
    budgets (never its name or secret).

    Fields left out keep their value; ``all_providers: true`` alone drops the list,
    a non-empty ``providers`` alone restricts the key to it; null removes an
    expiry or a budget."""

    providers: NameSlugField = NameSlugField(
        many=True, required=False, slug_field="name", queryset=Provider.objects.all(),
        help_text=gettext_lazy("Names of the providers this key may use when “all_providers” is false."),
    )
    all_providers = serializers.BooleanField(required=False)
    allowed_models = ModelPatternsListField(required=False, help_text=_ALLOWED_MODELS_HELP)
    # A key read with GET can be sent back: what it shows but cannot change is ignored.
    read_only_elsewhere = ("id", "name", "prefix", "no_provider_left", "usage", "created_at", "last_used_at",
                           "revoked_at", "is_active", "is_expired")

    class Meta:
        model = GatewayKey
        fields = ["all_providers", "providers", "allowed_models", "expires_at", "rate_limit_rpm", "rate_limit_tpm",
                  *key_controls.BUDGET_FIELDS, "record_bodies"]
        extra_kwargs = KEY_CONTROL_KWARGS

    def update(self, instance: GatewayKey, validated_data: dict[str, Any]) -> GatewayKey:
        providers = validated_data.get("providers")
        all_providers = validated_data.get("all_providers")
        if providers is None:
            providers = [] if all_providers else list(instance.providers.all())
        if all_providers is None:
            all_providers = instance.all_providers and not providers
        try:
            return services.gateway_key_update(
                key=instance, all_providers=all_providers, providers=providers,
                rate_limit_rpm=validated_data.get("rate_limit_rpm", instance.rate_limit_rpm),
                rate_limit_tpm=validated_data.get("rate_limit_tpm", instance.rate_limit_tpm),
                record_bodies=validated_data.get("record_bodies"),
                **{name: validated_data[name] for name in key_controls.CONTROL_FIELDS if name in validated_data},
            )
        except DjangoValidationError as exc:
            raise service_errors(exc) from None


@item_schema(GatewayKeySerializer, tag="gateway keys", show="Show a gateway key",
             change="Change a gateway key's providers and limits", change_request=GatewayKeyScopeSerializer)
class GatewayKeyDetailView(generics.RetrieveUpdateAPIView):
    permission_classes = [ModelPermissions]
    queryset = GatewayKey.objects.all().prefetch_related("providers")
    serializer_class = GatewayKeySerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return GatewayKeyScopeSerializer if self.request.method == "PATCH" else GatewayKeySerializer

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = GatewayKeyScopeSerializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        key = serializer.save()
        return Response(GatewayKeySerializer(GatewayKey.objects.prefetch_related("providers").get(pk=key.pk)).data)


class GatewayKeyRevokeView(APIView):
    """Revoke a key for good: refused within GATEWAY_CONFIG_REFRESH_SECONDS, its open streams end 1 s later."""

    permission_classes = [Requires.of(GatewayKey, "change")]

    @extend_schema(summary="Revoke a gateway key", tags=["gateway keys"], request=None,
                   responses={200: GatewayKeySerializer, 404: NOT_FOUND_RESPONSE, **ERROR_RESPONSES})
    def post(self, request: Request, pk: int) -> Response:
        key = generics.get_object_or_404(GatewayKey, pk=pk)
        services.gateway_key_revoke(key=key)
        return Response(GatewayKeySerializer(key).data)
