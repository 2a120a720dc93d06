"""What the in-memory routing table saves on every /v1 request.

A request needs its gateway key (by hash, with the providers it may use) and the
provider its model names, with the secrets decrypted. This compares doing that
with the ORM from async code (a thread hop, three queries, decryption) against
the lookups in the loaded routing table (``providers/routing.py``), on a
temporary SQLite database with one provider and one key::

    .venv/bin/python -m bench.lookup              # 5 rounds of 2,000 requests each
    .venv/bin/python -m bench.lookup --requests 500

Prints the median time per request of each, and of the ORM lookups alone
(without the thread hop). A measurement, not a test: run it on a calm machine.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any


def _rounds(run: Callable[[], Any], requests: int, rounds: int) -> float:
    """Median microseconds per call of ``run`` over ``rounds`` rounds."""
    results = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(requests):
            run()
        results.append((time.perf_counter() - started) / requests * 1e6)
    return statistics.median(results)


async def _async_rounds(run: Callable[[], Awaitable[Any]], requests: int, rounds: int) -> float:
    results = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(requests):
            await run()
        results.append((time.perf_counter() - started) / requests * 1e6)
    return statistics.median(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="gateway-bench-lookup-")
    os.environ["GATEWAY_SQLITE_PATH"] = os.path.join(workdir, "gateway.sqlite3")
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")
    import django

    django.setup()
    from asgiref.sync import sync_to_async
    from django.core.management import call_command

    from providers import routing, services
    from providers.gateway_keys import hash_gateway_key
    from providers.models import GatewayKey, Provider

    call_command("migrate", verbosity=0)
    services.provider_create(name="local", provider_type="custom", base_url="http://127.0.0.1:9/v1",
                             api_key="sk-bench-lookup-123456", extra_headers={"X-Org": "acme"})
    _key, raw = services.gateway_key_create(name="bench-lookup")

    def orm_lookup() -> Any:
        key = GatewayKey.objects.filter(key_hash=hash_gateway_key(raw), revoked_at__isnull=True).prefetch_related(
            "providers").first()
        provider = Provider.objects.get(name="local")
        assert key is not None and (key.all_providers or provider in key.providers.all())
        return routing.provider_config(provider)

    async def table_lookup() -> Any:
        snap = await routing.get_snapshot()
        info = snap.keys.get(hash_gateway_key(raw))
        config = snap.providers.get("local")
        assert info is not None and config is not None and info.may_use(config.id)
        return config

    async def measure() -> tuple[float, float]:
        orm = sync_to_async(orm_lookup)
        for _ in range(100):  # warm up both
            await orm()
            await table_lookup()
        return (await _async_rounds(orm, args.requests, args.rounds),
                await _async_rounds(table_lookup, args.requests, args.rounds))

    through_orm, through_table = asyncio.run(measure())
    sync_orm = _rounds(orm_lookup, args.requests, args.rounds)
    print(f"ORM from async code (thread hop, 3 queries, decryption): {through_orm:8.1f} us per request")
    print(f"  the same ORM lookups without the thread hop:            {sync_orm:8.1f} us per request")
    print(f"in-memory routing table:                                  {through_table:8.1f} us per request")
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
