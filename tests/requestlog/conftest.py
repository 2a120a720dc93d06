"""The request log's tests: the queue starts empty, and the test runner's own
process writes it itself (GATEWAY_REQUEST_LOG_WRITER is off under pytest). The tests
that send requests through both doors ask for ``door``."""
from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _empty_request_log_queue() -> Iterator[None]:
    from chat import requestlog, requestlog_writer

    requestlog.configure()
    requestlog_writer.reset_for_tests()
    listeners = list(requestlog.LISTENERS)
    yield
    requestlog.LISTENERS[:] = listeners
    requestlog.configure()  # the settings fixture has restored the settings by now
    requestlog_writer.reset_for_tests()


@pytest.fixture(params=["fast", "django"])
def door(request, live_gateway, make_provider, upstream) -> str:
    """The raw ASGI fast path, or Django's own handler, with a provider ``local`` on the fake upstream."""
    make_provider(name="local", base_url=upstream.base_url)
    return live_gateway.url if request.param == "fast" else request.getfixturevalue("django_url")
