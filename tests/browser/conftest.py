"""Fixtures of the browser tests: what ``scripts/run.sh`` starts, on a fresh machine
(``server``) or on the test's own database (``gateway``). Driving Chromium: chromium.py."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.outside import chromium_path
from tests.runsh import RunSh, browser_server


@pytest.fixture
def server() -> Iterator[RunSh]:
    """``./scripts/run.sh`` on a fresh machine: its own var directory and database."""
    chromium_path()  # skip (or fail under GATEWAY_REQUIRE_ALL) before the slow start
    running = RunSh().start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def gateway(transactional_db: object) -> Iterator[RunSh]:
    """A run.sh per test, on the test's database: the server caches content-type ids, which
    the flush after each transactional test renumbers (the admin's log entries would then
    point nowhere)."""
    with browser_server() as server:
        yield server
