"""How a route picks a target (chat/fallback.py ``choose``): weighted random among the
available targets of the best priority; the next priority only when none of a better
one is available; targets the key may not use are never chosen; with every target
cooling down, the one that recovers first is tried."""
from __future__ import annotations

import random
from collections import Counter

import pytest

from chat import fallback
from providers.adapters.base import ProviderConfig
from providers.health import breaker as health
from providers.routing import KeyInfo, RouteInfo, RouteTargetInfo, Snapshot

EVERY = KeyInfo(id=1, name="k", provider_ids=None, rate_limit_rpm=None, rate_limit_tpm=None)


def config(pid: int, name: str, **settings) -> ProviderConfig:
    return ProviderConfig(id=pid, name=name, provider_type="custom", base_url="http://x", api_key=None,
                          settings=settings)


def target(provider: str, weight: int = 1, priority: int = 0, model: str = "m") -> RouteTargetInfo:
    return RouteTargetInfo(provider=provider, model=model, priority=priority, weight=weight, key=f"{provider}/{model}")


@pytest.fixture
def snap(settings):
    settings.REDIS_URL = ""
    health.reset_for_tests()
    providers = {n: config(i, n) for i, n in enumerate(["a", "b", "c", "d"], start=1)}
    providers["allow"] = config(9, "allow", allowed_models=["other"])
    yield Snapshot(version=1, providers=providers, keys={})
    health.reset_for_tests()


def route(*groups) -> RouteInfo:
    return RouteInfo(id=1, name="r", groups=tuple(tuple(g) for g in groups), max_attempts=3, deadline=10,
                     first_byte_timeout=5, fallback_on_client_errors=False)


def test_weights_share_the_traffic_of_the_best_priority(snap):
    random.seed(7)
    r = route([target("a", 1), target("b", 3)], [target("c", 100, priority=1)])
    counts = Counter(fallback.choose(snap, EVERY, r).provider for _ in range(40_000))
    assert set(counts) == {"a", "b"}
    assert abs(counts["a"] / 40_000 - 0.25) < 0.01


def test_the_next_priority_serves_only_when_the_better_one_cannot(snap):
    r = route([target("a"), target("b")], [target("c", priority=1)])
    for _ in range(3):
        health.record_failure("a/m", "HTTP 503")
    assert {fallback.choose(snap, EVERY, r).provider for _ in range(200)} == {"b"}
    for _ in range(3):
        health.record_failure("b/m", "HTTP 503")
    assert fallback.choose(snap, EVERY, r).provider == "c"
    assert fallback.choose(snap, EVERY, r, tried={"c/m"}).provider in ("a", "b")  # last resort: soonest back


def test_targets_the_key_may_not_use_are_never_chosen(snap):
    only_b = KeyInfo(id=2, name="b-only", provider_ids=frozenset({2}), rate_limit_rpm=None, rate_limit_tpm=None)
    r = route([target("a"), target("b"), target("allow", model="m")])
    assert {fallback.choose(snap, only_b, r).provider for _ in range(100)} == {"b"}
    assert fallback.choose(snap, only_b, route([target("a")])) is None
    assert fallback.choose(snap, EVERY, route([target("allow", model="m")])) is None  # not in its allowed models
    assert not fallback.route_visible(snap, only_b, route([target("a"), target("c")]))


def test_every_target_cooling_down_tries_the_one_back_first(snap, monkeypatch):
    health.record_failure("a/m", "HTTP 429", retry_after=100)
    health.record_failure("b/m", "HTTP 429", retry_after=10)
    assert fallback.choose(snap, EVERY, route([target("a"), target("b")])).provider == "b"
