"""Tokens per minute hold under concurrency, across processes: each request
reserves an estimate at admission with one atomic increment in the shared cache
(Redis), and settles to the reported usage when it ends.

200 parallel requests on two real gateway workers (uvicorn subprocesses sharing
Redis and one SQLite database) against a key limited to 10 tokens a minute; each
request reserves 2 tokens (``"hi"``: 1, ``max_tokens: 1``: 1) and the upstream
reports 2. A request is admitted while its window has budget left before its own
reservation, so the admitted ones saw 0, 2, 4, 6 and 8 tokens counted before
them: exactly ceil(10 / 2) = 5 are admitted, whatever the interleaving. Before
the reservation, tokens were counted only after each answer, and all 200 got
through (the upstream answers after 1 s)."""
from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from tests import outside
from tests.fakes.metered_upstream import MeteredUpstream
from tests.hardening.workers import Deployment

LIMIT = 10
RESERVED = 2  # per request: ceil(len("hi") / 4) + max_tokens 1
BOUND = -(-LIMIT // RESERVED)  # 5


@pytest.fixture(scope="module")
def upstream_2_tokens() -> Iterator[MeteredUpstream]:
    server = MeteredUpstream(delay=1.0, tokens=RESERVED).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory, upstream_2_tokens) -> Iterator[tuple[Deployment, str]]:
    import redis

    url = outside.redis_url()
    prefix = f"wt-tpm-{uuid.uuid4().hex[:8]}"
    deployment = Deployment(tmp_path_factory.mktemp("tpm"), {"REDIS_URL": url, "GATEWAY_CACHE_PREFIX": prefix})
    key = deployment.shell(
        "from providers import services\n"
        f"services.provider_create(name='metered', provider_type='custom', base_url='{upstream_2_tokens.base_url}')\n"
        f"_k, raw = services.gateway_key_create(name='tpm', rate_limit_tpm={LIMIT})\n"
        "print(raw)"
    )
    try:
        deployment.start()
        deployment.start()
        yield deployment, key
    finally:
        deployment.stop()
        client = redis.Redis.from_url(url)
        for name in client.scan_iter(f"{prefix}:*"):
            client.delete(name)


async def _burst(urls: list[str], key: str, n: int) -> list[httpx.Response]:
    body = {"model": "metered/any", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(timeout=60, limits=limits, trust_env=False) as client:
        return await asyncio.gather(*(
            client.post(f"{urls[i % len(urls)]}/v1/chat/completions", json=body,
                        headers={"Authorization": f"Bearer {key}"})
            for i in range(n)
        ))


@pytest.mark.redis
def test_200_parallel_requests_on_two_workers_admit_exactly_what_the_token_limit_allows(two_workers,
                                                                                          upstream_2_tokens):
    deployment, key = two_workers
    # One window for the whole burst: start well inside a minute.
    while (left := 60 - time.time() % 60) < 25:
        time.sleep(left + 0.5)
    answered_before = upstream_2_tokens.answered
    responses = asyncio.run(_burst([w.url for w in deployment.workers], key, 200))

    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {200, 429}, statuses
    assert statuses[200] == BOUND, statuses
    assert upstream_2_tokens.answered - answered_before == BOUND
    for refused in (r for r in responses if r.status_code == 429):
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert refused.json()["error"]["type"] == "rate_limit_error"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Both workers took part (they share the count through Redis, not by luck).
    ports = {r.request.url.port for r in responses if r.status_code in (200, 429)}
    assert len(ports) == 2
    # Settled to the reported usage: the window is spent, later requests are refused on either worker.
    again = asyncio.run(_burst([w.url for w in deployment.workers], key, 4))
    assert [r.status_code for r in again] == [429] * 4


def test_parallel_requests_in_one_process_with_the_in_process_cache_admit_the_same(
    live_gateway, make_provider, upstream_2_tokens, monkeypatch
):
    import types

    from django.core.cache import cache

    from chat import limits
    from providers import services

    monkeypatch.setattr(limits, "time", types.SimpleNamespace(time=lambda: 1_800_000_030.0))
    cache.clear()
    make_provider(name="metered", base_url=upstream_2_tokens.base_url)
    _key, raw = services.gateway_key_create(name="tpm-local", rate_limit_tpm=LIMIT)
    answered_before = upstream_2_tokens.answered
    responses = asyncio.run(_burst([live_gateway.url], raw, 60))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: BOUND, 429: 60 - BOUND}, statuses
    assert upstream_2_tokens.answered - answered_before == BOUND
    assert cache.get(f"gw:rl:t:{_key.pk}:{(1_800_000_030 // 60)}") == LIMIT  # 5 settled at 2 each
    cache.clear()
