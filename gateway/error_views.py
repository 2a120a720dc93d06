"""Error pages that fit the API they are under.

A path under ``/api/`` that routes nowhere (an id that is not a number, a typo)
gets DRF's JSON shape rather than Django's HTML page, so API clients (and the
OpenAPI schema, which documents JSON) always see JSON. Everything else gets
Django's default page.
"""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)
