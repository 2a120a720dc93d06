"""Admin additions for onboarding (test connection, capability probe, fetch models, playground).

``ProviderAdmin`` inherits ``ProviderOnboardingAdminMixin`` so this module can
grow its own URLs, actions and buttons without touching ``admin.py``:

- ``<id>/test-connection/``: reachable, latency, model count or the cause, and a
  one-click fix when a usual variant of the base URL works;
- ``<id>/probe/``: the capability checklist, with "apply findings" (a signed
  change merged into the provider's settings through ``provider_update``);
- ``<id>/fetch-models/``: what the backend reports; set the allowlist and default;
- ``playground/``: stream a chat through the gateway's own ``/v1``;
- the "Test connection" bulk action on the list.

Every write goes through ``providers.services``.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import slugify
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import audit, config_version, permissions, selectors, services
from ..gateway_keys import new_key_material
from ..models import GatewayKey, Provider
from . import probe

APPLY_SALT = "providers.admin.apply-probe"
APPLY_MAX_AGE = 3600

Change = TypeVar("Change")


def sign_change(provider: Provider, change: Any) -> str:
    """A proposed change, signed for this provider only, to come back in a form."""
    return signing.dumps({"provider": provider.pk, "change": change}, salt=APPLY_SALT)


def unsign_change(provider: Provider, token: str, kind: type[Change]) -> Change:
    """The change signed for ``provider``, a ``kind``; BadSignature if forged, expired, for
    another provider or of another kind."""
    data = signing.loads(token, salt=APPLY_SALT, max_age=APPLY_MAX_AGE)
    if not isinstance(data, dict) or data.get("provider") != provider.pk:
        raise signing.BadSignature("the change was proposed for another provider")
    change = data.get("change")
    if not isinstance(change, kind):
        raise signing.BadSignature(f"the change is not a {kind.__name__}")
    return change


# -- the playground's gateway key ----------------------------------------------------


def playground_key_name(user: Any) -> str:
    slug = slugify(user.get_username())[:40] or "user"
    return f"playground-{slug}-{user.pk}"


@transaction.atomic
def playground_key_issue(*, user: Any) -> str:
    """Give ``user`` a fresh secret for their internal playground key and return it.

    One key row per staff user, rotated each time the playground page asks (a POST): the raw secret
    exists only in the page just rendered for that user, never in a log, a session
    or the database (which keeps only its hash)."""
    name = playground_key_name(user)
    with audit.acting(user=user, door="key-rotation"):
        return _playground_key_rotate(name)


def _playground_key_rotate(name: str) -> str:
    key = GatewayKey.objects.select_for_update().filter(name=name).first()
    if key is None:
        _key, raw = services.gateway_key_create(name=name)
        return raw
    material = new_key_material()
    key.prefix = material.prefix
    key.key_hash = material.key_hash
    key.revoked_at = None
    key.all_providers = True  # the playground may try every provider
    key.save(update_fields=["prefix", "key_hash", "revoked_at", "all_providers"])
    key.providers.clear()
    config_version.bump()
    return material.raw


def playground_strings() -> dict[str, str]:
    """Strings the playground's script shows, translated here (no JS catalog)."""
    return {
        "loading": gettext("Loading models…"),
        "no_models": gettext("No models are listed; type one as provider/model."),
        "models_failed": gettext("The model list could not be loaded."),
        "waiting": gettext("Waiting for the first token…"),
        "streaming": gettext("Streaming…"),
        "done": gettext("Done."),
        "done_tool_calls": gettext("Done: the model asked for the tool calls shown."),
        "tool_call": gettext("Tool call:"),
        "bad_tools": gettext("The tools are not a valid JSON list:"),
        "stopped": gettext("Stopped."),
        "error": gettext("Error"),
        "no_model": gettext("Choose a model first."),
        "ms": gettext("ms"),
        "tokens_per_second": gettext("tokens/s"),
        "usage_line": gettext("prompt %(prompt)s, completion %(completion)s, total %(total)s tokens"),
        "not_reported": gettext("not reported by the backend"),
    }


# -- the mixin -------------------------------------------------------------------------


if TYPE_CHECKING:
    _AdminBase = admin.ModelAdmin
else:
    _AdminBase = object


class ProviderOnboardingAdminMixin(_AdminBase):
    """URLs, buttons and an action that ``ProviderAdmin`` gains by inheritance."""

    # -- wiring ---------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        info = (self.opts.app_label, self.opts.model_name)
        wrap = self.admin_site.admin_view
        mine = [
            path("playground/", wrap(self.playground_view), name="{}_{}_playground".format(*info)),
            path("<path:object_id>/test-connection/", wrap(self.test_connection_view),
                 name="{}_{}_test_connection".format(*info)),
            path("<path:object_id>/probe/", wrap(self.probe_view), name="{}_{}_probe".format(*info)),
            path("<path:object_id>/fetch-models/", wrap(self.fetch_models_view),
                 name="{}_{}_fetch_models".format(*info)),
        ]
        return mine + super().get_urls()

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if actions is not None and self.has_view_permission(request):
            action = self.get_action("test_connection_action")
            if action is not None:
                actions["test_connection_action"] = action
        return actions

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {**(extra_context or {}), "can_use_playground": permissions.can_use_playground(request.user)}
        return super().changelist_view(request, extra)

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        context["can_use_playground"] = permissions.can_use_playground(request.user)
        return super().render_change_form(request, context, *args, **kwargs)

    def _url(self, name: str, *args: Any) -> str:
        info = (self.opts.app_label, self.opts.model_name)
        return reverse(f"{self.admin_site.name}:%s_%s_{name}" % info, args=args)

    def _provider(self, request: HttpRequest, object_id: str, *, change: bool = False) -> Provider:
        provider = get_object_or_404(Provider, pk=object_id)
        allowed = (self.has_change_permission(request, provider) if change
                   else self.has_view_permission(request, provider))
        if not allowed:
            raise PermissionDenied
        return provider

    def _context(self, request: HttpRequest, provider: Provider | None, title: str, **extra: Any) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "original": provider,
            "provider": provider,
            "change_url": self._url("change", provider.pk) if provider else None,
            **extra,
        }

    # -- the bulk action ------------------------------------------------------

    @admin.action(description=_("Test connection"))
    def test_connection_action(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        providers = list(Provider.objects.filter(pk__in=queryset.values("pk")).order_by("name"))
        for provider, result in probe.check_many(providers):
            line = gettext("“%(name)s”: %(message)s") % {"name": provider.name, "message": result.message()}
            self.message_user(request, line, messages.SUCCESS if result.ok else messages.ERROR)

    # -- test connection ------------------------------------------------------

    def _save(self, request: HttpRequest, write: Callable[[], str], *, then: str, expired: str = "") -> HttpResponse:
        """Make a change staff confirmed (``write`` calls a service and returns what it did, in
        words), say how it went, and redirect: to ``then`` once made, back here if refused."""
        try:
            done = write()
        except signing.BadSignature:
            self.message_user(request, expired, messages.ERROR)
            return HttpResponseRedirect(request.path)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(request.path)
        self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(then)

    def test_connection_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        provider = self._provider(request, object_id, change=request.method == "POST")
        if request.method == "POST":
            def use_the_suggested_url() -> str:
                new_url = unsign_change(provider, request.POST.get("base_url", ""), str)
                with audit.acting(door="use-url"):
                    services.provider_update(provider=provider, base_url=new_url)
                return gettext("The base URL is now %(url)s.") % {"url": probe.display_url(new_url)}

            return self._save(request, use_the_suggested_url, then=request.path,
                              expired=gettext("The proposed change has expired; run the check again."))
        result = probe.check_connection(provider)
        signed_url = sign_change(provider, result.suggested_base_url) if result.suggested_base_url else ""
        context = self._context(
            request, provider, gettext("Test connection: %(name)s") % {"name": provider.name},
            result=result, message=result.message(), signed_base_url=signed_url,
            suggested_display=probe.display_url(result.suggested_base_url or ""),
            probe_url=self._url("probe", provider.pk), fetch_models_url=self._url("fetch_models", provider.pk),
            can_change=self.has_change_permission(request, provider),
        )
        return TemplateResponse(request, "admin/providers/provider/probe_connection.html", context)

    # -- capability probe -----------------------------------------------------

    def probe_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        provider = self._provider(request, object_id, change=request.method == "POST")
        if request.method == "POST":
            def apply_the_findings() -> str:
                suggestion = unsign_change(provider, request.POST.get("suggestion", ""), dict)
                probe.apply_suggestions(provider, suggestion)
                return gettext("The probe's findings were applied to “%(name)s”.") % {"name": provider.name}

            return self._save(request, apply_the_findings, then=self._url("change", provider.pk),
                              expired=gettext("The proposed change has expired; run the probe again."))
        report = probe.probe_provider(provider)
        suggestion = report.suggestions()
        rows = [
            {"label": probe.item_label(i.key), "status": i.status, "status_label": probe.status_label(i.status),
             "message": i.message(), "suggestion": i.suggestion}
            for i in report.items
        ]
        context = self._context(
            request, provider, gettext("Capability probe: %(name)s") % {"name": provider.name},
            report=report, rows=rows, connection_message=report.connection.message(),
            suggestion=suggestion, suggestion_json=json.dumps(suggestion, ensure_ascii=False),
            signed_suggestion=sign_change(provider, suggestion) if suggestion else "",
            can_change=self.has_change_permission(request, provider),
        )
        return TemplateResponse(request, "admin/providers/provider/probe_checklist.html", context)

    # -- fetch models ---------------------------------------------------------

    def fetch_models_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        provider = self._provider(request, object_id, change=request.method == "POST")
        current = dict(provider.settings or {})
        if request.method == "POST":
            allowed = [m for m in request.POST.getlist("allowed") if m]
            default = request.POST.get("default_model", "").strip()
            new_settings = dict(current)
            new_settings.pop("allowed_models", None)
            new_settings.pop("default_model", None)
            if allowed:
                new_settings["allowed_models"] = allowed
            if default:
                new_settings["default_model"] = default
            if request.POST.get("save_models") and request.POST.getlist("reported"):
                new_settings["models"] = [m for m in request.POST.getlist("reported") if m]

            def save_the_model_settings() -> str:
                with audit.acting(door="fetch-models"):
                    services.provider_update(provider=provider, settings=new_settings)
                return gettext("The model settings of “%(name)s” were saved.") % {"name": provider.name}

            return self._save(request, save_the_model_settings, then=self._url("change", provider.pk))
        result, reported = probe.fetch_models(provider)
        allowed = list(current.get("allowed_models") or [])
        default = current.get("default_model") or ""
        names = list(reported) + [m for m in allowed + ([default] if default else []) if m not in reported]
        rows = [{"id": m, "allowed": (m in allowed), "default": m == default, "reported": m in reported}
                for m in dict.fromkeys(names)]
        context = self._context(
            request, provider, gettext("Fetch models: %(name)s") % {"name": provider.name},
            result=result, message=result.message(), rows=rows, reported=reported,
            allow_all=not allowed, can_change=self.has_change_permission(request, provider),
        )
        return TemplateResponse(request, "admin/providers/provider/fetch_models.html", context)

    # -- playground -----------------------------------------------------------

    def playground_view(self, request: HttpRequest) -> HttpResponse:
        if not permissions.can_use_playground(request.user):
            raise PermissionDenied
        if request.method == "POST":
            # The page asks for its key with a POST once it has loaded: a GET changes
            # nothing (it neither creates, rotates nor restores a revoked key).
            response: HttpResponse = JsonResponse({"key": playground_key_issue(user=request.user)})
            response["Cache-Control"] = "no-store"
            return response
        initial = ""
        wanted = request.GET.get("provider", "")
        provider = selectors.provider_by_name(wanted) if wanted else None
        if provider is not None:
            default = (provider.settings or {}).get("default_model")
            initial = f"{provider.name}/{default}" if default else f"{provider.name}/"
        context = self._context(
            request, None, gettext("Playground"),
            key_url=request.path, initial_model=initial, strings=playground_strings(),
            chat_url=reverse("v1-chat-completions"), models_url=reverse("v1-models"),
        )
        response = TemplateResponse(request, "admin/providers/provider/playground.html", context)
        response["Cache-Control"] = "no-store"
        return response
