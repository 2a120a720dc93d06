"""Which upstream addresses a provider may point at.

Loopback and private networks are allowed (self-hosted backends are the point of
``custom``); cloud metadata endpoints and link-local addresses are refused unless
``GATEWAY_ALLOW_LINK_LOCAL`` is on; ``GATEWAY_ALLOWED_UPSTREAMS`` (hosts or CIDR
networks) restricts providers to a list when set.
"""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

METADATA_HOSTS = {"metadata.google.internal", "metadata", "metadata.azure.com", "instance-data"}


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_address(host: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> str | None:
    """Return a reason to refuse ``host`` (resolved to ``ip`` when known), or None."""
    allow_link_local = getattr(settings, "GATEWAY_ALLOW_LINK_LOCAL", False)
    if not allow_link_local:
        if host.lower().rstrip(".") in METADATA_HOSTS:
            return _("Cloud metadata addresses are not allowed as provider URLs.")
        if ip is not None:
            mapped = getattr(ip, "ipv4_mapped", None) or ip
            if mapped.is_link_local or str(mapped) in {"169.254.169.254", "fd00:ec2::254"}:
                return _("Link-local and cloud metadata addresses are not allowed as provider URLs.")
    allowed = getattr(settings, "GATEWAY_ALLOWED_UPSTREAMS", [])
    if allowed:
        for entry in allowed:
            if entry.lower() == host.lower():
                return None
            if ip is not None:
                try:
                    if ip in ipaddress.ip_network(entry, strict=False):
                        return None
                except ValueError:
                    continue
        return _("This host is not in the gateway's list of allowed upstreams.")
    return None


def check_base_url(url: str) -> str | None:
    """Save-time check of a base URL (a literal address or a name as written)."""
    host = urlsplit(url).hostname or ""
    return check_address(host, _ip(host))
