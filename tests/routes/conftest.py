"""Fixtures of the route tests that check the request log through both doors."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.contracts.http_api.helpers import Server


@pytest.fixture
def fresh_request_log() -> Iterator[None]:
    """An empty request log queue: rows of earlier tests' requests must not reach this
    test's database (as tests/requestlog/conftest.py does for its folder)."""
    from chat import requestlog_writer

    requestlog_writer.reset_for_tests()
    yield
    requestlog_writer.reset_for_tests()


@pytest.fixture(scope="module")
def django_server() -> Iterator[str]:
    """Django's own ASGI handler (the /v1 fast path off) under uvicorn."""
    with Server("h11") as server:
        yield f"http://127.0.0.1:{server.port}"


@pytest.fixture(params=["fast", "django"])
def door(request: Any, live_gateway: Any) -> str:
    """The raw ASGI fast path, or Django's own handler: the same ``serve`` answers both."""
    return live_gateway.url if request.param == "fast" else request.getfixturevalue("django_server")
