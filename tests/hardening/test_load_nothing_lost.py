"""Load with nothing lost: 500 concurrent streaming requests of 100 chunks each
through a gateway process (uvicorn, as deployed) to a loopback upstream. Every
client receives every chunk, in order, byte-exact, then [DONE]; no errors; the
gateway's memory returns near its baseline afterwards.

The upstream holds every stream after its first chunk until all 500 are open at
once, so the streams are concurrent by construction, not by timing."""
from __future__ import annotations

import asyncio
import resource

import aiohttp
import pytest

from tests.fakes.faulty_upstream import bulk_event
from tests.fakes.gateway_process import gateway_process, rss_mb, script_server

STREAMS = 500
CHUNKS = 100


def _expected(tag: str, hold: int) -> bytes:
    """The upstream's events byte for byte, but for the model id the client asked for."""
    events = b"".join(bulk_event(tag, i) for i in range(CHUNKS)) + b"data: [DONE]\n\n"
    return events.replace(b'"model":"bulk"', f'"model":"{_model(hold)}"'.encode())


def _model(hold: int) -> str:
    return f"bulk/bulk-{CHUNKS}-{hold}"


@pytest.fixture
def stack(tmp_path):
    """An upstream process and a gateway process (migrated SQLite, one provider, one key)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4 * STREAMS:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8 * STREAMS), hard))
    with script_server("tests.fakes.faulty_upstream") as upstream_port:
        setup = (
            "from providers import services\n"
            "services.provider_create(name='bulk', provider_type='custom',"
            f" base_url='http://127.0.0.1:{upstream_port}/v1')\n"
            "print(services.gateway_key_create(name='load')[1])\n"
        )
        with gateway_process(tmp_path, setup, args=("--backlog", "2048")) as gw:
            yield {"url": gw["url"], "upstream": f"http://127.0.0.1:{upstream_port}", "key": gw["setup_output"],
                   "pid": gw["pid"]}


async def _one(session: aiohttp.ClientSession, url: str, key: str, tag: str, hold: int) -> tuple[str, bytes, int]:
    async with session.post(
        f"{url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": _model(hold), "stream": True, "messages": [{"role": "user", "content": tag}]},
    ) as resp:
        return tag, await resp.read(), resp.status


async def _round(url: str, key: str, count: int, prefix: str) -> list[tuple[str, bytes, int]]:
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        return await asyncio.gather(
            *(_one(session, url, key, f"{prefix}{i:03d}", count) for i in range(count)), return_exceptions=False
        )


def _check(results: list[tuple[str, bytes, int]]) -> None:
    hold = len(results)
    errors = [(tag, status, body[:200]) for tag, body, status in results
              if status != 200 or body != _expected(tag, hold)]
    assert not errors, f"{len(errors)} of {len(results)} streams lost or changed data; first: {errors[:3]}"


async def _stats(upstream: str) -> dict:
    async with aiohttp.ClientSession() as session, session.get(f"{upstream}/stats") as resp:
        return await resp.json()


@pytest.mark.timeout(900)
async def test_500_concurrent_streams_lose_nothing_and_memory_returns(stack):
    url, key, pid = stack["url"], stack["key"], stack["pid"]
    # Warm up (imports, pools, the routing table), then take the baseline.
    _check(await _round(url, key, 50, "warm"))
    baseline = rss_mb(pid)

    results = await _round(url, key, STREAMS, "r")
    _check(results)
    assert len(results) == STREAMS
    stats = await _stats(stack["upstream"])
    assert stats["peak_bulk"] >= STREAMS, stats  # all 500 streams were open at once
    after_first = rss_mb(pid)

    # A second full round: a leak would grow memory again; a pool or allocator
    # high-water mark would not.
    _check(await _round(url, key, STREAMS, "s"))
    await asyncio.sleep(1)
    after_second = rss_mb(pid)
    stats = await _stats(stack["upstream"])
    assert stats["open"] <= 1, stats  # only the /stats request itself: no upstream socket left behind

    print(f"\ngateway RSS: baseline {baseline:.1f} MB, after 500 streams {after_first:.1f} MB, "
          f"after 1000 {after_second:.1f} MB")
    # Generous bounds (not a benchmark): near the baseline, and no growth per round.
    assert after_second <= baseline + 64, (baseline, after_first, after_second)
    assert after_second <= after_first + 25, (baseline, after_first, after_second)
