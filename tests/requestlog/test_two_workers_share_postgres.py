"""Two worker processes on one PostgreSQL each write the rows of the requests they
served, and only those: one row per request, whichever worker answered."""
from __future__ import annotations

import uuid

import pytest

from tests.requestlog.deployment import chat, deployment, pg_database

pytestmark = pytest.mark.postgres

REQUESTS = 24


def test_two_workers_produce_one_row_per_request(tmp_path, upstream):
    with pg_database(f"gw_reqlog_two_{uuid.uuid4().hex[:8]}") as url, \
            deployment(tmp_path, upstream.base_url, database_url=url) as made:
        a, b = made.start("a"), made.start("b")
        for i in range(REQUESTS):
            assert chat(a if i % 2 else b, made.key, stream=bool(i % 3)).status_code == 200
        assert made.wait_rows(REQUESTS) == REQUESTS
        a.stop()
        b.stop()
        made.workers.clear()
        assert made.count() == REQUESTS  # nothing written twice at exit either
        distinct = made.manage("shell", code="from chat.models import RequestLog\n"
                                              "print(RequestLog.objects.values('request_id').distinct().count())")
        assert int(distinct) == REQUESTS
        assert made.count("stream=True") == len([i for i in range(REQUESTS) if i % 3])
