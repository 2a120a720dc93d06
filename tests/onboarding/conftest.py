"""Fixtures for the onboarding tests: a quirky upstream and a server that never answers."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import LiveGateway
from tests.fakes.quirky_upstream import QuirkyUpstream, StallServer


@pytest.fixture
def quirky() -> Iterator[QuirkyUpstream]:
    server = QuirkyUpstream().start()
    yield server
    server.stop()


@pytest.fixture
def stall_server() -> Iterator[StallServer]:
    server = StallServer().start()
    yield server
    server.stop()


class StaticLiveGateway(LiveGateway):
    """The live gateway, also serving static files (the admin's CSS) for browser tests."""

    def __init__(self) -> None:
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        super().__init__()
        # uvicorn loads ``config.app`` when the server starts, so it can still be wrapped here.
        self.server.config.app = ASGIStaticFilesHandler(self.server.config.app)


@pytest.fixture(scope="session")
def static_gateway_server() -> Iterator[StaticLiveGateway]:
    server = StaticLiveGateway().start()
    yield server
    server.stop()


@pytest.fixture
def static_gateway(static_gateway_server: StaticLiveGateway, transactional_db: object) -> StaticLiveGateway:
    return static_gateway_server
