from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import catalog
from .crypto import EncryptedJSONField


# django-modeltranslation swaps the manager for one it builds at run time, which the
# django-stubs plugin cannot always name (the finding comes and goes with mypy's cache).
class Provider(models.Model):  # type: ignore[django-manager-missing]
    """A registered backend. Secrets (API key, extra headers, query and env values) are encrypted at rest."""

    name = models.SlugField(
        _("name"),
        max_length=64,
        unique=True,
        help_text=_("Short identifier used in model ids: <name>/<model>. Letters, digits, hyphens and underscores."),
    )
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    provider_type = models.CharField(_("provider type"), max_length=32, choices=catalog.type_choices)
    base_url = models.CharField(_("base URL"), max_length=500, blank=True)
    api_key = EncryptedJSONField(_("API key"), null=True, blank=True)
    api_key_hint = models.CharField(_("key hint"), max_length=8, blank=True, editable=False)
    extra_headers = EncryptedJSONField(_("extra HTTP headers"), null=True, blank=True)
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    # The settings whose values are secrets (``extra_query``, ``env``): see secret_settings.py.
    secret_settings = EncryptedJSONField(_("secret settings"), null=True, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("provider")
        verbose_name_plural = _("providers")

    def __str__(self) -> str:
        return self.name

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key_hint) or self.api_key is not None

    @property
    def type_label(self) -> str:
        try:
            return str(catalog.get_type(self.provider_type).label)
        except KeyError:
            return self.provider_type


class GatewayKey(models.Model):
    """A client credential for /v1. Only a SHA-256 hash and a display prefix are stored."""

    name = models.SlugField(_("name"), max_length=64, unique=True)
    prefix = models.CharField(_("prefix"), max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # Explicit, so a restriction never widens by itself: when every provider a
    # restricted key named is deleted, its set is empty and it is refused, not "all".
    all_providers = models.BooleanField(
        _("all providers"),
        default=False,
        help_text=_("Allow every provider, present and future. Otherwise only the providers chosen below."),
    )
    providers = models.ManyToManyField(
        Provider,
        blank=True,
        verbose_name=_("allowed providers"),
        help_text=_("Used when “all providers” is off. A key whose providers are all deleted is refused."),
    )
    rate_limit_rpm = models.PositiveIntegerField(
        _("requests per minute"), null=True, blank=True, help_text=_("Empty: the gateway default.")
    )
    rate_limit_tpm = models.PositiveIntegerField(
        _("tokens per minute"), null=True, blank=True, help_text=_("Empty: the gateway default.")
    )
    # Off by default: prompts and answers are the clients' data (chat/requestlog.py).
    record_bodies = models.BooleanField(
        _("record bodies"),
        default=False,
        help_text=_("Store this key's request and answer bodies in the request log, size-capped and with provider "
                    "secrets masked, for debugging. Off: only sizes, tokens and timings are recorded."),
    )
    expires_at = models.DateTimeField(
        _("expires"), null=True, blank=True,
        help_text=_("Empty: never. From this time on the key is refused (401, code key_expired)."),
    )
    # Patterns over the model ids clients send (``vllm/*``, ``chat-default``): see providers/key_controls.py.
    allowed_models = models.JSONField(
        _("allowed models"), default=list, blank=True,
        help_text=_("Model ids or patterns with * (vllm/*, chat-default, openrouter/anthropic/*), one per line. "
                    "Empty: every model of the allowed providers."),
    )
    # Budgets over UTC calendar windows; empty means unlimited (chat/budgets.py counts them).
    requests_per_day = models.PositiveBigIntegerField(_("requests per day"), null=True, blank=True,
                                                      help_text=_("Empty: unlimited. The day is the UTC day."))
    requests_per_month = models.PositiveBigIntegerField(_("requests per month"), null=True, blank=True,
                                                        help_text=_("Empty: unlimited. The month is the UTC month."))
    tokens_per_day = models.PositiveBigIntegerField(_("tokens per day"), null=True, blank=True,
                                                    help_text=_("Empty: unlimited. The day is the UTC day."))
    tokens_per_month = models.PositiveBigIntegerField(_("tokens per month"), null=True, blank=True,
                                                      help_text=_("Empty: unlimited. The month is the UTC month."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("gateway API key")
        verbose_name_plural = _("gateway API keys")

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def no_provider_left(self) -> bool:
        """Restricted, and every provider it was restricted to is gone."""
        return not self.all_providers and not self.providers.all()  # .all(): uses a prefetch


class ConfigVersion(models.Model):
    """One row whose counter rises on every provider or key change.

    Each gateway process polls it (cheaply, off the request path) to know when
    to reload its in-process routing table, so a change made through any
    instance reaches every instance within GATEWAY_CONFIG_REFRESH_SECONDS.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("configuration version")


class Route(models.Model):
    """A model alias clients name as their ``model`` (``"chat-default"``), served by an
    ordered set of ``<provider>/<model>`` targets with fallback before the first byte.

    Route names share one namespace with provider names (``providers.routes.services``
    checks both directions), so every model id means one thing."""

    name = models.CharField(
        _("name"),
        max_length=64,
        unique=True,
        help_text=_("The model id clients send. Letters, digits, dots, hyphens and underscores; no slash."),
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    max_attempts = models.PositiveSmallIntegerField(
        _("maximum attempts"), null=True, blank=True,
        help_text=_("Targets tried for one request before the error goes to the client. Empty: the gateway default."),
    )
    deadline_seconds = models.FloatField(
        _("deadline (seconds)"), null=True, blank=True,
        help_text=_("Time all attempts together may take before the first byte. Empty: the gateway default."),
    )
    first_byte_timeout = models.FloatField(
        _("time to first byte (seconds)"), null=True, blank=True,
        help_text=_("How long one attempt of a stream may wait for its first byte before the next target is "
                    "tried. Empty: the gateway default."),
    )
    if TYPE_CHECKING:
        from django.db.models.fields.related_descriptors import RelatedManager

        targets: RelatedManager[RouteTarget]

    fallback_on_client_errors = models.BooleanField(
        _("fall back on client errors"), default=False,
        help_text=_("Also try the next target when a target answers 400, 401, 403, 404 or 422."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("route")
        verbose_name_plural = _("routes")

    def __str__(self) -> str:
        return self.name


class RouteTarget(models.Model):
    """One ``<provider>/<model>`` behind a route. Lower ``priority`` numbers are tried
    first; within one priority, ``weight`` shares the traffic."""

    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="targets", verbose_name=_("route"))
    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="route_targets", verbose_name=_("provider")
    )
    model = models.CharField(
        _("model"), max_length=200, blank=True,
        help_text=_("The upstream model id. Empty: the provider's default model."),
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=0,
        help_text=_("Lower first; the next priority serves only when none of a better one can."),
    )
    weight = models.PositiveIntegerField(
        _("weight"), default=1, help_text=_("Share of the traffic among healthy targets of the same priority.")
    )

    class Meta:
        ordering = ["priority", "id"]
        verbose_name = _("route target")
        verbose_name_plural = _("route targets")
        constraints = [
            models.UniqueConstraint(fields=["route", "provider", "model"], name="route_target_unique"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """``<provider>/<model>`` as clients would name it."""
        return f"{self.provider.name}/{self.model}" if self.model else self.provider.name
