"""Stopping a worker with SIGTERM writes the rows still queued: with a flush interval
far longer than the test, every request's row is there once the worker has exited."""
from __future__ import annotations

from tests.requestlog.deployment import chat, deployment

REQUESTS = 10


def test_sigterm_writes_the_queue(tmp_path, upstream):
    with deployment(tmp_path, upstream.base_url, GATEWAY_REQUEST_LOG_FLUSH_SECONDS="3600") as made:
        worker = made.start("only")
        for i in range(REQUESTS):
            assert chat(worker, made.key, stream=bool(i % 2)).status_code == 200
        assert made.count() == 0  # nothing written yet: the next flush is an hour away
        worker.stop()  # SIGTERM
        assert made.count() == REQUESTS
