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
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

log = logging.getLogger("gateway.upstream")

METADATA_HOSTS = {"metadata.google.internal", "metadata", "metadata.azure.com", "instance-data"}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata and control-plane endpoints outside link-local space.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "100.100.100.200",  # Alibaba Cloud ECS metadata (DashScope is a supported type)
        "168.63.129.16",  # Azure WireServer
        "fd00:ec2::254",  # AWS instance metadata over IPv6
    )
)

# IPv6 ranges that carry an IPv4 address in their last 32 bits, so that
# ``64:ff9b::a9fe:a9fe`` reaches 169.254.169.254 through a NAT64 gateway.
_TAIL_V4_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "::ffff:0:0/96",  # IPv4-mapped
        "::ffff:0:0:0/96",  # SIIT (IPv4-translated)
        "64:ff9b::/96",  # NAT64 well-known prefix
        "64:ff9b:1::/48",  # NAT64 local-use prefix (RFC 8215), /96 sub-prefixes
        "::/96",  # IPv4-compatible (deprecated)
    )
)


def _ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, SIIT, NAT64, 6to4), if any."""
    if ip.version != 6:
        return None
    assert isinstance(ip, ipaddress.IPv6Address)
    if ip.sixtofour is not None:
        return ip.sixtofour
    for network in _TAIL_V4_NETWORKS:
        if ip in network:
            tail = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
            # "::" and "::1" sit in ::/96 but are IPv6's own unspecified and loopback.
            return None if network.prefixlen == 96 and int(network.network_address) == 0 and int(tail) <= 1 else tail
    return None


def _is_metadata_or_link_local(ip: IPAddress) -> bool:
    return ip.is_link_local or ip in METADATA_ADDRESSES


def loose_ipv4(host: str) -> bool:
    """True for a host that C's ``inet_aton`` reads as an IPv4 address although it is
    not written as four decimal numbers: ``2852039166``, ``0xa9fea9fe``,
    ``0251.0376.0251.0376``, ``169.254.43518``. Resolvers and HTTP libraries disagree
    on these, which is how they slip past address checks."""
    host = host.strip("[]")
    if not host or _ip(host) is not None or any(c not in "0123456789abcdefxABCDEFX." for c in host):
        return False
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


def check_address(host: str, ip: IPAddress | None) -> str | None:
    """Return a reason to refuse ``host`` (resolved to ``ip`` when known), or None."""
    if loose_ipv4(host):
        return _("Write an IPv4 address as four decimal numbers (like 192.0.2.1), not in decimal, octal or hex form.")
    allow_link_local = getattr(settings, "GATEWAY_ALLOW_LINK_LOCAL", False)
    if not allow_link_local:
        if host.lower().rstrip(".") in METADATA_HOSTS:
            return _("Cloud metadata addresses are not allowed as provider URLs.")
        if ip is not None:
            inner = embedded_ipv4(ip)
            if _is_metadata_or_link_local(ip) or (inner is not None and _is_metadata_or_link_local(inner)):
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
