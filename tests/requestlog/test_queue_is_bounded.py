"""The in-memory queue is bounded: past GATEWAY_REQUEST_LOG_QUEUE records are
dropped, counted, and reported in one log line per flush interval (not per row);
the requests themselves never notice."""
from __future__ import annotations

import logging

import pytest

from chat import requestlog, requestlog_writer


@pytest.fixture
def small_queue(settings):
    settings.GATEWAY_REQUEST_LOG_QUEUE = 5
    requestlog.configure()
    yield
    settings.GATEWAY_REQUEST_LOG_QUEUE = 10000
    requestlog.configure()


def test_records_past_the_bound_are_dropped_and_reported_once(small_queue, caplog, transactional_db):
    from chat.models import RequestLog

    before = requestlog.dropped()
    for _ in range(12):
        requestlog.start("chat").finish(200)
    assert len(requestlog.QUEUE) == 5
    assert requestlog.dropped() - before == 7
    with caplog.at_level(logging.WARNING, logger="gateway.requestlog"):
        requestlog_writer.report_drops()
        requestlog_writer.report_drops()  # nothing new: nothing said
    drops = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert len(drops) == 1 and "7 rows dropped" in drops[0].getMessage()
    assert requestlog_writer.flush() == 5
    assert RequestLog.objects.count() == 5


def test_a_record_is_finished_once(transactional_db):
    record = requestlog.start("chat")
    record.finish(200)
    record.finish(500)
    assert (len(requestlog.QUEUE), record.status) == (1, 200)


def test_a_failing_listener_never_reaches_the_request(caplog):
    seen = []

    def broken(event, record):
        raise RuntimeError("listener bug")

    requestlog.LISTENERS.extend([broken, lambda event, record: seen.append((event, record.status))])
    with caplog.at_level(logging.ERROR, logger="gateway.requestlog"):
        for _ in range(3):
            requestlog.start("chat").finish(204)
    assert seen == [("start", 0), ("finish", 204)] * 3
    assert len([r for r in caplog.records if "listener" in r.getMessage()]) == 1  # logged once
