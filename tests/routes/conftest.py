"""Fixtures of the route tests: three providers to route over, and, for the tests that
check the request log through both doors, the doors and an empty request log queue."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import free_port


@pytest.fixture
def providers(make_provider: Any, upstream: Any) -> Any:
    """Providers ``a`` and ``b`` on the fake upstream (returned) and ``dead``, where nothing listens."""
    make_provider(name="a", base_url=upstream.base_url)
    make_provider(name="b", base_url=upstream.base_url)
    make_provider(name="dead", base_url=f"http://127.0.0.1:{free_port()}/v1")
    return upstream


@pytest.fixture
def fresh_request_log() -> Iterator[None]:
    """An empty request log queue: rows of earlier tests' requests must not reach this
    test's database (as tests/requestlog/conftest.py does for its folder)."""
    from chat import requestlog_writer

    requestlog_writer.reset_for_tests()
    yield
    requestlog_writer.reset_for_tests()


@pytest.fixture(params=["fast", "django"])
def door(request: Any, live_gateway: Any) -> str:
    """The raw ASGI fast path, or Django's own handler: the same ``serve`` answers both."""
    return live_gateway.url if request.param == "fast" else request.getfixturevalue("django_url")
