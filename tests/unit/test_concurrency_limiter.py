"""The gateway's one concurrency limiter (``max_concurrency``, every provider
type): a request over the cap waits its turn for as long as the type allows,
slots pass on in arrival order, then a 429 ``concurrency_limit_exceeded``."""
from __future__ import annotations

import asyncio

import pytest

from chat.limits import ConcurrencyLimiter
from providers.adapters.acp import AcpAdapter
from providers.adapters.base import ProviderConfig, UpstreamError
from providers.adapters.claude_cli import ClaudeCliAdapter
from providers.adapters.openai_compat import OpenAICompatAdapter


async def test_limiter_refuses_after_the_wait_and_hands_slots_over_in_order():
    limiter = ConcurrencyLimiter("p", 1)
    order = []
    async with limiter.slot(1.0):
        with pytest.raises(UpstreamError) as info:
            async with limiter.slot(0.05):
                pass
        assert (info.value.status, info.value.code, info.value.retry_after) == (429, "concurrency_limit_exceeded", 1.0)

        async def waiter(n):
            async with limiter.slot(10):
                order.append(n)

        tasks = [asyncio.create_task(waiter(n)) for n in range(3)]
        while len(limiter._waiters) < 3:
            await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2]
    assert limiter.active == 0 and not limiter._waiters


async def test_a_cancelled_waiter_does_not_leak_a_slot():
    limiter = ConcurrencyLimiter("p", 1)
    async with limiter.slot(1.0):
        task = asyncio.create_task(limiter.slot(10).__aenter__())
        while not limiter._waiters:
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert limiter.active == 0 and not limiter._waiters


async def test_without_a_wait_the_request_over_the_cap_is_refused_at_once():
    limiter = ConcurrencyLimiter("p", 1)
    async with limiter.slot(0):
        with pytest.raises(UpstreamError) as info:
            await limiter.acquire(0)
        assert info.value.code == "concurrency_limit_exceeded"
        assert not limiter._waiters
    assert limiter.active == 0


def _config(provider_type: str, **settings) -> ProviderConfig:
    return ProviderConfig(id=1, name="p", provider_type=provider_type, base_url="http://127.0.0.1:1/v1", api_key=None,
                          settings=settings)


@pytest.mark.parametrize(("adapter", "provider_type", "settings", "expected"), [
    # HTTP types: only an explicit cap, and no queue (429 at once).
    (OpenAICompatAdapter, "custom", {}, (None, 0.0)),
    (OpenAICompatAdapter, "custom", {"max_concurrency": 3}, (3, 0.0)),
    # Programs: 4 children by default; one more waits up to 10 s, with or without an explicit cap.
    (ClaudeCliAdapter, "claude_cli", {}, (4, 10.0)),
    (ClaudeCliAdapter, "claude_cli", {"max_concurrency": 2}, (2, 10.0)),
    (ClaudeCliAdapter, "claude_cli", {"max_concurrency": 2, "timeout": 3}, (2, 3.0)),
    (AcpAdapter, "acp", {}, (4, 10.0)),
    (AcpAdapter, "acp", {"max_concurrency": 1}, (1, 10.0)),
])
def test_each_type_declares_its_cap_and_its_wait(adapter, provider_type, settings, expected):
    assert adapter(_config(provider_type, **settings)).concurrency() == expected
