"""Pooled upstream sessions: one per event loop and TLS/proxy option set, closed
when their loop shuts down (no "Unclosed client session" at exit)."""
from __future__ import annotations

import asyncio
import gc
import warnings

from providers.adapters.base import ProviderConfig
from providers.http import close_all, session_for


def config(**settings) -> ProviderConfig:
    return ProviderConfig(
        id=1, name="p", provider_type="custom", base_url="http://127.0.0.1:9/v1", api_key=None, settings=settings
    )


def test_sessions_are_shared_per_options_and_closed_at_loop_shutdown():
    async def main():
        a = session_for(config())
        b = session_for(config(read_timeout=5))  # timeouts do not need a session of their own
        c = session_for(config(verify_tls=False))
        d = session_for(config(direct=True))
        return a, b, c, d

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a, b, c, d = asyncio.run(main())
        assert a is b
        assert len({id(a), id(c), id(d)}) == 3
        assert a.closed and c.closed and d.closed
        del a, b, c, d
        gc.collect()
    assert not [w for w in caught if "Unclosed" in str(w.message)]


def test_close_all_closes_this_loops_sessions_and_new_ones_can_follow():
    async def main():
        first = session_for(config())
        await close_all()
        second = session_for(config())
        return first, second

    first, second = asyncio.run(main())
    assert first.closed and second.closed
    assert first is not second
