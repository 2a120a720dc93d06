"""A database that becomes unavailable while traffic flows fails no request and
delays none past the upstream's own time: rows wait in the bounded queue, the
writer says once that it cannot write, and writes them when the database is back."""
from __future__ import annotations

import time
import uuid

import pytest

from tests.requestlog.deployment import chat, deployment, logs, pg_admin, pg_database

pytestmark = pytest.mark.postgres
BEFORE, DURING = 4, 20


def test_requests_succeed_while_the_database_is_down(tmp_path, upstream):
    name = f"gw_reqlog_outage_{uuid.uuid4().hex[:8]}"
    with pg_database(name) as url, deployment(tmp_path, upstream.base_url, database_url=url,
                                              GATEWAY_REQUEST_LOG_FLUSH_SECONDS="0.2") as made:
        worker = made.start("only")
        for i in range(BEFORE):
            assert chat(worker, made.key, stream=bool(i % 2)).status_code == 200
        assert made.wait_rows(BEFORE) == BEFORE

        # The database goes away: no new connections, and the open ones are cut.
        pg_admin(url, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        pg_admin(url, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        try:
            for i in range(DURING):
                resp = chat(worker, made.key, stream=bool(i % 2))
                assert resp.status_code == 200, resp.text
            time.sleep(1)  # several flush intervals fail meanwhile
        finally:
            pg_admin(url, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

        assert made.wait_rows(BEFORE + DURING) == BEFORE + DURING
        text = logs(worker)
        assert text.count("writing to the database failed") == 1, text[-3000:]
        assert "the database accepts rows again" in text
