"""Fixtures of the hardening tests: a misbehaving upstream on loopback."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.fakes.faulty_upstream import FaultyUpstream


@pytest.fixture(scope="session")
def faulty_server() -> Iterator[FaultyUpstream]:
    server = FaultyUpstream().start()
    yield server
    server.stop()


@pytest.fixture
def faulty(faulty_server: FaultyUpstream) -> FaultyUpstream:
    faulty_server.requests.clear()
    return faulty_server


def wait_until(predicate: Callable[[], bool], seconds: float = 15.0) -> bool:
    """Poll ``predicate`` until it holds (a generous deadline: not a timing test)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class DjangoPathGateway:
    """The gateway under uvicorn with the /v1 fast path off: every request goes
    through Django's own ASGI handler and middleware."""

    def __init__(self) -> None:
        import threading

        import uvicorn

        from gateway.asgi import Application, django_application
        from tests.conftest import free_port

        self.port = free_port()
        config = uvicorn.Config(
            Application(django_application, fast=False), host="127.0.0.1", port=self.port, loop="asyncio",
            http="h11", lifespan="off", log_level="warning", timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="django-path-gateway", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DjangoPathGateway:
        self.thread.start()
        if not wait_until(lambda: self.server.started):
            raise RuntimeError("the gateway did not start")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def django_path_server() -> Iterator[DjangoPathGateway]:
    gw = DjangoPathGateway().start()
    yield gw
    gw.stop()


@pytest.fixture(params=["fast-path", "django-path"])
def any_gateway(request, live_gateway, django_path_server):
    """The live gateway on both request paths (the raw ASGI /v1 fast path and Django's handler)."""
    return live_gateway if request.param == "fast-path" else django_path_server
