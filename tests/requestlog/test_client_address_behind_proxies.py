"""The client's address in the request log: the TCP peer, unless that peer is a
proxy listed in GATEWAY_TRUSTED_PROXIES; then the right-most X-Forwarded-For hop
that is not itself trusted (the left part is the client's own, forgeable, claim)."""
from __future__ import annotations

import pytest

from chat.clientaddr import client_ip


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "expected"),
    [
        ([], "203.0.113.9", "1.2.3.4", "203.0.113.9"),  # no trusted proxy: the header is ignored
        (["10.0.0.0/8"], "203.0.113.9", "1.2.3.4", "203.0.113.9"),  # an untrusted peer's header is ignored
        (["10.0.0.0/8"], "10.1.2.3", "198.51.100.7", "198.51.100.7"),
        (["10.0.0.0/8"], "10.1.2.3", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # a forged left part
        (["10.0.0.0/8"], "10.1.2.3", "198.51.100.7, 10.9.9.9", "198.51.100.7"),  # two proxies of ours
        (["10.0.0.0/8"], "10.1.2.3", "garbage, 10.9.9.9", "10.9.9.9"),
        (["10.0.0.0/8"], "10.1.2.3", "", "10.1.2.3"),
        (["10.0.0.0/8"], "10.1.2.3", "[2001:db8::1]:443", "2001:db8::1"),
        (["127.0.0.1"], "127.0.0.1", "198.51.100.7:5050", "198.51.100.7"),
        (["::1"], "::ffff:127.0.0.1", "x", "127.0.0.1"),
        ([], None, None, None),
        ([], "unix-socket", None, None),
    ],
)
def test_client_address(settings, trusted, peer, forwarded, expected):
    settings.GATEWAY_TRUSTED_PROXIES = trusted
    assert client_ip(peer, forwarded) == expected
