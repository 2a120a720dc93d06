"""The request log's tests: the queue starts empty, and the test runner's own
process writes it itself (GATEWAY_REQUEST_LOG_WRITER is off under pytest)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _empty_request_log_queue() -> Iterator[None]:
    from chat import requestlog, requestlog_writer

    requestlog.configure()
    requestlog_writer.reset_for_tests()
    yield
    requestlog.LISTENERS.clear()
    requestlog_writer.reset_for_tests()
