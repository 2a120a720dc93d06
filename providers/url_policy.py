"""Which upstream addresses a provider may point at.

Loopback and private networks are allowed (self-hosted backends are the point of
``custom``); cloud metadata endpoints and link-local addresses are refused unless
``GATEWAY_ALLOW_LINK_LOCAL`` is on; ``GATEWAY_ALLOWED_UPSTREAMS`` (hosts or CIDR
networks) restricts providers to a list when set.

The check runs at save time on the URL as written (``check_base_url``) and again
at connect time on every resolved address (``providers.transport.client``, the
one upstream client), so a name that later resolves to a forbidden address is
still refused. Behind an HTTP proxy the gateway connects only to the proxy, so
the proxy's address is what is checked.
"""
from __future__ import annotations

import ipaddress
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

log = logging.getLogger("gateway.upstream")

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


# Connect time ------------------------------------------------------------------
#
# The save-time check sees a URL as written. A name can later resolve somewhere
# else (DNS rebinding, a changed record, an /etc/hosts entry), so the same policy
# runs again on every address the gateway is about to connect to.



class UpstreamAddressRefused(OSError):
    """An upstream address the base URL policy forbids: reported as a connection
    failure, so no request is ever sent."""


def check_resolved(host: str, addresses: list[str]) -> None:
    """Raise ``UpstreamAddressRefused`` if any address ``host`` resolved to is refused.

    Every address is checked, not just the first: the connection may try them all.
    """
    for address in addresses:
        problem = check_address(host, _ip(address.split("%", 1)[0]))
        if problem:
            # Names and addresses are not secret; the reason helps the operator.
            log.warning("upstream host=%s address=%s refused by the base URL policy: %s", host, address, problem)
            raise UpstreamAddressRefused(f"{host} ({address}): {problem}")
