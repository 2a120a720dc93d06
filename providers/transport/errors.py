"""What the upstream client raises. ``providers.adapters.errors`` turns each into
an OpenAI-shaped ``UpstreamError``; the probe turns them into cause codes."""
from __future__ import annotations


class TransportError(Exception):
    """Any failure of an upstream exchange."""


class ConnectError(TransportError):
    """No connection: nothing of the request was sent, so a retry is safe."""

    def __init__(self, message: str, os_error: BaseException | None = None) -> None:
        super().__init__(message)
        self.os_error = os_error


class ProxyError(ConnectError):
    """The HTTP proxy could not be reached or refused the tunnel."""


class TLSCertificateError(ConnectError):
    """The upstream's certificate did not verify."""


class TLSError(ConnectError):
    """The TLS handshake failed for another reason."""


class ConnectTimeout(ConnectError, TimeoutError):
    """Connecting (DNS, TCP, proxy tunnel, TLS) took longer than ``connect_timeout``."""


class ReadTimeout(TransportError, TimeoutError):
    """The upstream went silent: ``kind`` is ``head`` (the whole head, interim answers
    included, missed its deadline), ``first_byte`` or ``idle`` (between chunks)."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"{kind} timeout")
        self.kind = kind


class Disconnected(TransportError, ConnectionError):
    """The upstream closed the connection; the request may have reached it."""


class ProtocolError(TransportError):
    """The upstream's answer is not valid HTTP (or its body cannot be decoded)."""


class LimitExceeded(TransportError):
    """The upstream's answer is over a bound: ``what`` is ``head``, ``body``,
    ``decoded_body`` or ``event``; ``limit`` the bound (bytes or lines)."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"{what} over {limit}")
        self.what = what
        self.limit = limit


class InvalidRequest(TransportError):
    """The request cannot be sent as asked (a header with a line break, a bad URL)."""
