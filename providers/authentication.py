"""Token authentication for /api/ that takes both header forms.

DRF's ``TokenAuthentication`` reads only ``Authorization: Token <key>``; most HTTP
clients and tools send ``Authorization: Bearer <key>`` (OAuth 2.0 style, also what
the /v1 API takes). Both carry the same DRF token (``manage.py drf_create_token``),
so both are accepted; the keyword is case-insensitive, as RFC 9110 says schemes are.
"""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

KEYWORDS = {b"token", b"bearer"}


class TokenOrBearerAuthentication(TokenAuthentication):
    keyword = "Token"  # the challenge sent on 401 (WWW-Authenticate), as DRF does

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() not in KEYWORDS:
            return None
        # DRF's own messages (and their translations), as TokenAuthentication gives them.
        if len(auth) == 1:
            raise exceptions.AuthenticationFailed(_("Invalid token header. No credentials provided."))
        if len(auth) > 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header. Token string should not contain spaces."))
        try:
            key = auth[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(
                _("Invalid token header. Token string should not contain invalid characters.")) from None
        return self.authenticate_credentials(key)
