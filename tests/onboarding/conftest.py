"""Fixtures for the onboarding tests: a quirky upstream and a server that never answers."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

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
