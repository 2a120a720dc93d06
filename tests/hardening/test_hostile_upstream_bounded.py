"""One hostile or broken backend cannot take a worker down (issue 12): every row of
the issue's table, the three compression cases, the reused-connection case and the
duplicate-header case, each against a gateway worker in its own process (uvicorn
as deployed) and a raw-socket upstream (``tests/fakes/hostile_upstream.py``).

For each row: the client gets the documented answer; the worker's RSS (read from
/proc while the row runs) stays within ``RSS_BOUND_MB`` of where it was; a healthy
stream through the same worker meanwhile never waits more than ``GAP_BOUND`` for its
next event (it sends one every 0.1 s); the worker's file descriptors come back to
where they were."""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from tests.fakes.gateway_process import cpu_seconds, gateway_process, open_fds, rss_mb, script_server
from tests.fakes.hostile_upstream import CONTENT, HEALTHY_EVENTS

RSS_BOUND_MB = 100  # the body cap is 32 MiB; the old client held 1-4 GB here
GAP_BOUND = 1.0  # seconds; the healthy stream sends an event every 0.1 s
FIRST_BYTE_TIMEOUT = 2.0

SCENARIOS = ["healthy", "huge-cl", "gzip-bomb", "endless-headers", "endless-value", "slow-head", "early-hints",
             "huge-models", "huge-line", "corrupt-gzip", "raw-deflate", "multi-gzip", "close-reused", "record"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with script_server("tests.fakes.hostile_upstream") as port:
        rows = [
            {"name": s, "base_url": f"http://127.0.0.1:{port}/{s}/v1",
             "settings": {"models": ["m"], "first_byte_timeout": FIRST_BYTE_TIMEOUT, "retries": 2}}
            for s in SCENARIOS
        ]
        setup = (
            "from providers import services\nfrom providers.models import Provider\n"
            f"for row in {rows!r}:\n"
            "    services.provider_create(provider_type='custom', **row)\n"
            # A row stored before extra headers were checked (straight to the table).
            "p = Provider.objects.get(name='record')\n"
            "p.extra_headers = {'Host': 'evil.test', 'Content-Length': '5', 'Transfer-Encoding': 'chunked',"
            " 'Connection': 'close', 'X-Fine': 'yes'}\n"
            "p.save()\n"
            "print(services.gateway_key_create(name='hostile')[1])\n"
        )
        with gateway_process(tmp_path_factory.mktemp("hostile"), setup) as gw:
            yield {**gw, "key": gw["setup_output"], "upstream": f"http://127.0.0.1:{port}"}


class Watch:
    """Samples the worker's RSS every 20 ms while a row runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss_mb(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _headers(stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack['key']}"}


async def _chat(session, stack, provider: str, *, stream: bool = False) -> tuple[int, bytes]:
    body = {"model": f"{provider}/m", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    async with session.post(f"{stack['url']}/v1/chat/completions", json=body, headers=_headers(stack)) as resp:
        return resp.status, await resp.read()


async def _healthy_gaps(session, stack) -> list[float]:
    """Waits between the events of a healthy stream through the same worker."""
    body = {"model": "healthy/m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    gaps: list[float] = []
    async with session.post(f"{stack['url']}/v1/chat/completions", json=body, headers=_headers(stack)) as resp:
        assert resp.status == 200
        last = time.monotonic()
        events = 0
        async for _chunk in resp.content.iter_any():
            now = time.monotonic()
            gaps.append(now - last)
            last = now
            events += _chunk.count(b"data: ")
    assert events >= HEALTHY_EVENTS
    return gaps[1:]  # the first wait is the stream's start


async def _row(stack, call: Callable[[aiohttp.ClientSession], Awaitable[Any]]) -> tuple[Any, float, float, float]:
    """Run ``call`` beside a healthy stream: (its result, RSS growth MB, worst healthy gap s, seconds)."""
    pid = stack["pid"]
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        await _healthy_gaps(session, stack)  # warm: the healthy provider's pool holds a connection
        fds = open_fds(pid)
        before = rss_mb(pid)
        with Watch(pid) as watch:
            healthy = asyncio.ensure_future(_healthy_gaps(session, stack))
            await asyncio.sleep(0.3)
            started = time.monotonic()
            result = await call(session)
            elapsed = time.monotonic() - started
            gaps = await healthy
    deadline = time.monotonic() + 10
    while open_fds(pid) > fds and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert open_fds(pid) <= fds, "file descriptors did not come back to the baseline"
    return result, watch.peak - before, max(gaps), elapsed


def _error(raw: bytes) -> dict:
    payload = json.loads(raw)
    assert set(payload) == {"error"} and set(payload["error"]) == {"message", "type", "param", "code"}
    return payload["error"]


def _assert_bounded(growth: float, gap: float) -> None:
    assert growth < RSS_BOUND_MB, f"worker RSS grew {growth:.1f} MB"
    assert gap < GAP_BOUND, f"a healthy stream waited {gap:.2f} s for its next event"


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("provider", "status", "code"), [
    ("huge-cl", 502, "upstream_response_too_large"),
    ("gzip-bomb", 502, "upstream_response_too_large"),
    ("endless-headers", 502, "upstream_response_too_large"),
    ("endless-value", 502, "upstream_response_too_large"),
    ("slow-head", 504, "upstream_timeout"),
    ("early-hints", 504, "upstream_timeout"),
    ("corrupt-gzip", 502, "upstream_invalid_response"),
])
async def test_a_hostile_answer_is_a_clear_error_and_costs_the_worker_little(stack, provider, status, code):
    (got, raw), growth, gap, elapsed = await _row(stack, lambda s: _chat(s, stack, provider))
    assert got == status, raw[:300]
    error = _error(raw)
    assert error["code"] == code
    assert provider in error["message"]  # the message names the provider
    _assert_bounded(growth, gap)
    if code == "upstream_timeout":  # a deadline for the whole head, not an idle timer that every byte resets
        assert elapsed < FIRST_BYTE_TIMEOUT + 2, elapsed


@pytest.mark.timeout(120)
async def test_a_64_mib_sse_line_is_refused_in_linear_time(stack):
    cpu = cpu_seconds(stack["pid"])
    (got, raw), growth, gap, _elapsed = await _row(stack, lambda s: _chat(s, stack, "huge-line", stream=True))
    used = cpu_seconds(stack["pid"]) - cpu
    assert got == 502, raw[:300]
    error = _error(raw)
    assert error["code"] == "upstream_response_too_large" and "huge-line" in error["message"]
    _assert_bounded(growth, gap)
    assert used < 3.0, f"the worker spent {used:.1f} s of CPU"  # the old decoder: 15 s


@pytest.mark.timeout(120)
async def test_a_1_gib_models_list_does_not_fill_the_worker(stack):
    async def models(session):
        async with session.get(f"{stack['url']}/v1/models", headers=_headers(stack)) as resp:
            return resp.status, await resp.json()

    (got, listing), growth, gap, _elapsed = await _row(stack, models)
    assert got == 200
    assert "huge-models/m" in {m["id"] for m in listing["data"]}  # the configured list stands in
    _assert_bounded(growth, gap)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("provider", ["raw-deflate", "multi-gzip"])
async def test_deflate_and_multi_member_gzip_are_decoded_whole(stack, provider):
    (got, raw), growth, gap, _elapsed = await _row(stack, lambda s: _chat(s, stack, provider))
    assert got == 200, raw[:300]
    assert json.loads(raw)["choices"][0]["message"]["content"] == CONTENT
    _assert_bounded(growth, gap)


async def _upstream_stats(stack) -> dict:
    async with aiohttp.ClientSession() as session, session.get(f"{stack['upstream']}/stats") as resp:
        return await resp.json()


@pytest.mark.timeout(120)
async def test_a_chat_post_is_never_sent_twice_when_a_reused_connection_closes(stack):
    """The upstream reads the second request on a kept-alive connection whole, then
    closes: the request may have started a generation, so it is not sent again
    (even with ``retries: 2``)."""
    before = (await _upstream_stats(stack))["posts"].get("close-reused", 0)

    async def two(session):
        first = await _chat(session, stack, "close-reused")
        second = await _chat(session, stack, "close-reused")
        return first, second

    (first, second), growth, gap, _elapsed = await _row(stack, two)
    assert first[0] == 200, first[1][:300]
    assert second[0] == 502 and _error(second[1])["code"] == "upstream_disconnected", second[1][:300]
    assert (await _upstream_stats(stack))["posts"]["close-reused"] - before == 2  # one each, never resent
    _assert_bounded(growth, gap)


@pytest.mark.timeout(120)
async def test_stored_framing_headers_are_not_sent_beside_the_gateways_own(stack):
    (got, raw), growth, gap, _elapsed = await _row(stack, lambda s: _chat(s, stack, "record"))
    assert got == 200, raw[:300]
    head = (await _upstream_stats(stack))["heads"][-1].lower()
    names = [line.split(":", 1)[0] for line in head.split("\r\n")[1:] if line]
    assert names.count("host") == 1 and "evil.test" not in head
    assert names.count("content-length") == 1 and "transfer-encoding" not in names
    assert "connection: close" not in head
    assert "x-fine: yes" in head  # other extra headers still go
    _assert_bounded(growth, gap)
