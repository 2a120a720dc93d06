"""Which request headers a provider's extra headers may not set.

Framing and hop-by-hop headers belong to the client: a second ``Host``,
``Content-Length`` or ``Transfer-Encoding`` beside the client's own would make
the request ambiguous to the upstream (or to a proxy in front of it). Refused
when a provider is saved (``services.provider_validate``), and left out when a
request is built, for rows stored before the check existed. Kept apart from
``client.py`` so the write path does not import the HTTP client."""
from __future__ import annotations

from collections.abc import Mapping

FORBIDDEN_HEADERS = frozenset({
    "host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer",
    "expect",
})


def forbidden_header(name: str) -> bool:
    lowered = name.strip().lower()
    return lowered in FORBIDDEN_HEADERS or lowered.startswith("proxy-")


def allowed_extra_headers(extra: Mapping[str, str] | None) -> dict[str, str]:
    """``extra`` without the headers it may not set."""
    return {k: v for k, v in (extra or {}).items() if not forbidden_header(k)}
