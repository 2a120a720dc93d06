"""The client's address for the request log, behind the proxies the deployment trusts.

The hot path keeps the TCP peer and the raw ``X-Forwarded-For`` value; this
resolves them off the request path (in the log writer). Only a peer listed in
``GATEWAY_TRUSTED_PROXIES`` is believed about who it forwards for: then the
right-most address of ``X-Forwarded-For`` that is not itself a trusted proxy is
the client (the left part is the client's own claim and can be forged).
"""
from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_MAX_HOPS = 32  # X-Forwarded-For is client input: look at no more than this many entries


@lru_cache(maxsize=8)
def _trusted(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[v6]:port"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "v4:port"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_ip(peer: str | None, forwarded: str | None) -> str | None:
    """The client's address as text, or None when the peer is no IP address (a UNIX socket)."""
    return _resolve(peer, forwarded, tuple(settings.GATEWAY_TRUSTED_PROXIES))


@lru_cache(maxsize=4096)  # a few peers send most requests; parsing addresses is the costly part
def _resolve(peer: str | None, forwarded: str | None, spec: tuple[str, ...]) -> str | None:
    address = _address(peer) if peer else None
    if address is None:
        return None
    trusted = _trusted(spec)
    if not trusted or not forwarded:
        return str(address)
    for hop in reversed(forwarded.split(",")[-_MAX_HOPS:]):
        if not any(address in network for network in trusted):
            break
        candidate = _address(hop)
        if candidate is None:
            break  # garbage from the client's side of the chain: stop at the last good address
        address = candidate
    return str(address)
