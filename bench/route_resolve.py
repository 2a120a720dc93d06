"""What resolving a route costs on the /v1 path (``manage.py bench --route`` prints it).

Times ``chat.gateway.resolve_target`` in process for a route of three weighted
targets and for a direct ``<provider>/<model>``, on an in-memory routing table (no
database, no network); the difference is what a route adds to a request. The target is
at most 50 µs (issue 14)."""
from __future__ import annotations

import time
from typing import Any

ROUNDS = 5
CALLS = 20_000


def _snapshot() -> tuple[Any, Any]:
    from providers.adapters.base import ProviderConfig
    from providers.routing import KeyInfo, RouteInfo, RouteTargetInfo, Snapshot

    providers = {f"p{i}": ProviderConfig(id=i, name=f"p{i}", provider_type="custom", base_url="http://127.0.0.1:9",
                                         api_key=None) for i in range(1, 4)}
    targets = tuple(RouteTargetInfo(provider=f"p{i}", model="m", priority=0, weight=i, key=f"p{i}/m")
                    for i in range(1, 4))
    route = RouteInfo(id=1, name="chat-default", groups=(targets,), max_attempts=3, deadline=60,
                      first_byte_timeout=30, fallback_on_client_errors=False)
    key = KeyInfo(id=1, name="bench", provider_ids=None, rate_limit_rpm=None, rate_limit_tpm=None)
    return Snapshot(version=1, providers=providers, keys={}, routes={"chat-default": route}), key


def _per_call_us(snap: Any, key: Any, model: str) -> float:
    from chat.gateway import resolve_target

    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(CALLS):
            resolve_target(snap, key, model)
        best = min(best, (time.perf_counter() - start) / CALLS * 1e6)
    return best


def _health_us() -> float:
    """Recording one answer in the target's health (every request does it, routed or not)."""
    from providers.health import breaker

    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(CALLS):
            breaker.record_success("p1/m")
        best = min(best, (time.perf_counter() - start) / CALLS * 1e6)
    breaker.reset_for_tests()
    return best


def measure() -> dict[str, float]:
    """µs per call (best of ``ROUNDS``): ``route``, ``direct``, ``added`` (route minus
    direct) and ``health`` (recording an answer, on every request)."""
    snap, key = _snapshot()
    route = _per_call_us(snap, key, "chat-default")
    direct = _per_call_us(snap, key, "p1/m")
    return {"route": round(route, 2), "direct": round(direct, 2), "added": round(route - direct, 2),
            "health": round(_health_us(), 2)}
