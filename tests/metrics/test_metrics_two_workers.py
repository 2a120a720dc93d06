"""``/metrics`` of a gateway served by two uvicorn worker processes sums both: every
request counted once whichever worker served it and whichever worker answers the
scrape; when the server stops, its workers take their live gauges out of the sums."""
from __future__ import annotations

import asyncio
import glob
import re
import time

import aiohttp
import httpx

from chat import metrics
from tests.fakes.gateway_process import gateway_process, script_server
from tests.metrics.helpers import value

TOKEN = "metrics-two-workers-token-Z9x8"


async def _burst(url: str, key: str, count: int, model: str) -> list[int]:
    connector = aiohttp.TCPConnector(limit=0, force_close=True)  # new connections: both workers accept
    async with aiohttp.ClientSession(connector=connector) as session:
        async def one() -> int:
            async with session.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                                    json={"model": model, "messages": [{"role": "user", "content": "hi"}]}) as r:
                await r.read()
                return r.status
        return await asyncio.gather(*(one() for _ in range(count)))


def _worker_pids(metrics_dir) -> set[int]:
    return {int(m.group(1)) for path in glob.glob(f"{metrics_dir}/run-*/counter_*.db")
            if (m := re.search(r"counter_(\d+)\.db$", path))}


def test_two_workers_are_summed(tmp_path):
    metrics_dir = tmp_path / "metrics"
    with script_server("tests.fakes.faulty_upstream") as upstream_port:
        setup = (
            "from providers import services\n"
            "services.provider_create(name='up', provider_type='custom',"
            f" base_url='http://127.0.0.1:{upstream_port}/v1')\n"
            "print(services.gateway_key_create(name='metrics')[1])\n"
        )
        env = {"GATEWAY_METRICS_TOKEN": TOKEN, "GATEWAY_METRICS_DIR": str(metrics_dir)}
        with gateway_process(tmp_path, setup, env=env, args=("--workers", "2")) as gw:
            sent_ok = sent_failed = 0
            # Until both workers have served (each writes its own files); bounded.
            for _ in range(20):
                statuses = asyncio.run(_burst(gw["url"], gw["setup_output"], 20, "up/ok"))
                assert statuses == [200] * 20
                sent_ok += 20
                if len(_worker_pids(metrics_dir)) >= 2:
                    break
            assert len(_worker_pids(metrics_dir)) == 2, "the second worker never served"
            statuses = asyncio.run(_burst(gw["url"], gw["setup_output"], 10, "up/status-503"))
            sent_failed = statuses.count(503) + statuses.count(502)
            assert sent_failed == 10, statuses

            headers = {"Authorization": f"Bearer {TOKEN}"}
            # Each worker writes its counts every FLUSH_SECONDS: wait (bounded) until both have.
            deadline = time.monotonic() + 20 * metrics.FLUSH_SECONDS
            while time.monotonic() < deadline:
                text = httpx.get(f"{gw['url']}/metrics", headers=headers).text
                # The failed burst came last: wait for its counts too, not only the successes'.
                if (value(text, "gateway_requests_total", provider="up", model="ok", status="200") >= sent_ok
                        and sum(_upstream_errors(text).values()) >= sent_failed):
                    break
                time.sleep(0.2)
            scrapes = [httpx.get(f"{gw['url']}/metrics", headers=headers) for _ in range(6)]
            for scrape in scrapes:  # whichever worker answers
                assert scrape.status_code == 200
                text = scrape.text
                assert value(text, "gateway_requests_total", provider="up", model="ok", status="200") == sent_ok
                assert value(text, "gateway_tokens_total", provider="up", model="ok", direction="in") == 3 * sent_ok
                assert value(text, "gateway_tokens_total", provider="up", model="ok", direction="out") == 6 * sent_ok
                assert value(text, "gateway_request_duration_seconds_count", provider="up", model="ok") == sent_ok
                assert sum(v for (name, labels), v in _upstream_errors(text).items()) == sent_failed
                assert value(text, "gateway_streams_in_flight") == 0
            assert httpx.get(f"{gw['url']}/metrics").status_code == 401
    assert not glob.glob(f"{metrics_dir}/run-*/gauge_live*.db")  # each worker took its gauges out at exit


def _upstream_errors(text: str) -> dict:
    from tests.metrics.helpers import samples

    return {k: v for k, v in samples(text).items() if k[0] == "gateway_upstream_errors_total"}
