"""The request log: one row per /v1 request, written in batches off the hot path
(chat/requestlog.py records, chat/requestlog_writer.py writes).

Rows are snapshots: the key and provider are stored by id and name, not as
foreign keys, so deleting a key or a provider keeps its history, and a batch
written after such a deletion never fails on a constraint. ``None`` in a token
column means *unknown* (the upstream did not report it), never zero.
"""
from __future__ import annotations

from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _


class Surface(models.TextChoices):
    """The /v1 API a request came through."""

    CHAT = "chat", _("Chat completions")
    MODELS = "models", _("Models")
    MESSAGES = "messages", _("Messages")
    COUNT_TOKENS = "count_tokens", _("Token count")
    RESPONSES = "responses", _("Responses")
    EMBEDDINGS = "embeddings", _("Embeddings")
    OTHER = "other", _("Other")


class Outcome(models.TextChoices):
    """How a request ended, one word for each outcome the issue names."""

    OK = "ok", _("Success")
    CLIENT_ERROR = "client_error", _("Client error")
    LIMITED = "limited", _("Refused by a limit")
    UPSTREAM_ERROR = "upstream_error", _("Upstream error")
    GATEWAY_ERROR = "gateway_error", _("Gateway error")
    DISCONNECTED = "disconnected", _("Client disconnected")


class RequestLog(models.Model):
    """One /v1 request as the gateway answered it."""

    # Unique per request, made by the process that served it: a batch retried after
    # a lost acknowledgement inserts nothing twice (bulk_create ignore_conflicts).
    request_id = models.CharField(_("request id"), max_length=32, unique=True, editable=False)
    started_at = models.DateTimeField(_("time"), editable=False)
    surface = models.CharField(_("API"), max_length=16, choices=Surface.choices, editable=False)
    method = models.CharField(_("method"), max_length=8, blank=True, editable=False)
    path = models.CharField(_("path"), max_length=200, blank=True, editable=False)

    key_id = models.BigIntegerField(_("key id"), null=True, blank=True, editable=False)
    key_name = models.CharField(_("gateway key"), max_length=64, blank=True, editable=False)
    provider_name = models.CharField(_("provider"), max_length=64, blank=True, editable=False)
    provider_type = models.CharField(_("provider type"), max_length=32, blank=True, editable=False)
    requested_model = models.CharField(_("requested model"), max_length=200, blank=True, editable=False)
    upstream_model = models.CharField(_("upstream model"), max_length=200, blank=True, editable=False)
    # Filled once routes exist (issue 14): the route used and how many targets were tried.
    route = models.CharField(_("route"), max_length=200, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(_("attempts"), null=True, blank=True, editable=False)

    stream = models.BooleanField(_("streamed"), default=False, editable=False)
    status = models.PositiveSmallIntegerField(_("HTTP status"), editable=False)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, editable=False)
    error_code = models.CharField(_("error code"), max_length=64, blank=True, editable=False)
    error_cause = models.CharField(_("error cause"), max_length=500, blank=True, editable=False)

    latency_ms = models.PositiveIntegerField(_("latency (ms)"), editable=False)
    ttft_ms = models.PositiveIntegerField(_("time to first token (ms)"), null=True, blank=True, editable=False)
    tokens_in = models.PositiveIntegerField(_("tokens in"), null=True, blank=True, editable=False)
    tokens_out = models.PositiveIntegerField(_("tokens out"), null=True, blank=True, editable=False)
    tokens_reasoning = models.PositiveIntegerField(_("reasoning tokens"), null=True, blank=True, editable=False)
    retries = models.PositiveSmallIntegerField(_("retries"), default=0, editable=False)
    bytes_in = models.PositiveBigIntegerField(_("bytes in"), default=0, editable=False)
    bytes_out = models.PositiveBigIntegerField(_("bytes out"), default=0, editable=False)
    client_ip = models.GenericIPAddressField(_("client address"), null=True, blank=True, editable=False)

    # Only for keys with "record bodies" on: size-capped, provider secrets masked.
    request_body = models.TextField(_("request body"), blank=True, editable=False)
    response_body = models.TextField(_("answer body"), blank=True, editable=False)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("request")
        verbose_name_plural = _("requests")
        indexes = [
            models.Index(fields=["started_at"], name="requestlog_time"),
            models.Index(fields=["provider_name", "started_at"], name="requestlog_provider_time"),
            models.Index(fields=["key_id", "started_at"], name="requestlog_key_time"),
            models.Index(fields=["requested_model", "started_at"], name="requestlog_model_time"),
            models.Index(fields=["status", "started_at"], name="requestlog_status_time"),
        ]

    def __str__(self) -> str:
        # In the admin's time zone and the reader's format, as the list shows it (seconds kept:
        # several requests share a minute).
        when = timezone.localtime(self.started_at) if self.started_at else None
        shown = "-"
        if when is not None:
            shown = f"{formats.date_format(when, 'SHORT_DATE_FORMAT')} {formats.time_format(when, 'H:i:s')}"
        return f"{shown} {self.surface} {self.requested_model or '-'} {self.status}"
