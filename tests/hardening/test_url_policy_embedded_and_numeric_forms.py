"""The base URL policy sees through the other spellings of a refused address:
more cloud metadata endpoints (Alibaba Cloud, Azure WireServer, AWS over IPv6),
the IPv6 forms that carry an IPv4 address (mapped, compatible, SIIT, NAT64,
6to4), and the decimal, octal, hex and short IPv4 forms that C's ``inet_aton``
(and so ``getaddrinfo``) accepts. Refused when a provider is saved, and again
by ``check_resolved`` on the connect path."""
from __future__ import annotations

import socket

import pytest
from django.core.exceptions import ValidationError

from providers import services, url_policy

METADATA = ["169.254.169.254", "100.100.100.200", "168.63.129.16"]

# Every IPv6 spelling of an IPv4 address that reaches it on some network.
V6_FORMS = [
    "::ffff:{v4}",  # IPv4-mapped
    "::{v4}",  # IPv4-compatible
    "::ffff:0:{v4}",  # SIIT
    "64:ff9b::{v4}",  # NAT64 well-known prefix
    "64:ff9b:1::{v4}",  # NAT64 local-use prefix
]


def _sixtofour(v4: str) -> str:
    a, b, c, d = (int(x) for x in v4.split("."))
    return f"2002:{a:02x}{b:02x}:{c:02x}{d:02x}::1"


REFUSED_ADDRESSES = (
    METADATA
    + ["fd00:ec2::254", "169.254.1.1"]
    + [form.format(v4=v4) for v4 in METADATA for form in V6_FORMS]
    + [_sixtofour(v4) for v4 in METADATA]
)

# inet_aton reads all of these as 169.254.169.254 or 100.100.100.200.
LOOSE_IPV4 = ["2852039166", "0xa9fea9fe", "0xA9FEA9FE", "0251.0376.0251.0376", "169.254.43518", "0xa9.0xfe.0xa9.0xfe",
              "1684301000", "0x646464c8"]


def _url(address: str) -> str:
    return f"http://[{address}]:8080/v1" if ":" in address else f"http://{address}:8080/v1"


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_metadata_addresses_and_their_ipv6_forms_are_refused_at_save_and_connect_time(db, address):
    with pytest.raises(ValidationError) as caught:
        services.provider_create(name="evil", provider_type="custom", base_url=_url(address))
    assert "base_url" in caught.value.message_dict
    with pytest.raises(url_policy.UpstreamAddressRefused):
        url_policy.check_resolved("innocent.test", ["127.0.0.1", address])


@pytest.mark.parametrize("host", LOOSE_IPV4)
def test_decimal_octal_hex_and_short_ipv4_forms_are_refused_at_save_and_connect_time(db, host):
    # What the resolver makes of the host: proof that these do reach a metadata address.
    resolved = socket.getaddrinfo(host, 80, type=socket.SOCK_STREAM)[0][4][0]
    assert resolved in {"169.254.169.254", "100.100.100.200"}
    with pytest.raises(ValidationError) as caught:
        services.provider_create(name="evil", provider_type="custom", base_url=_url(host))
    assert "four decimal numbers" in str(caught.value.message_dict["base_url"])
    with pytest.raises(url_policy.UpstreamAddressRefused):
        url_policy.check_resolved(host, [resolved])


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "::1", "::ffff:127.0.0.1", "64:ff9b::10.0.0.1", "10.0.0.1", "2001:db8::1", "192.0.2.10"],
)
def test_loopback_private_and_their_ipv6_forms_stay_allowed(db, address):
    assert url_policy.check_base_url(_url(address)) is None
    url_policy.check_resolved("fine.test", [address])
    assert services.provider_create(name="fine", provider_type="custom", base_url=_url(address)).pk


@pytest.mark.parametrize("host", ["api.example.com", "deadbeef.example", "face.b00c", "localhost"])
def test_names_that_look_hexadecimal_are_not_mistaken_for_addresses(host):
    assert not url_policy.loose_ipv4(host)
    assert url_policy.check_base_url(f"https://{host}/v1") is None
