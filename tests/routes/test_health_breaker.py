"""A target's passive health (providers/health/breaker.py): failures in the sliding window
open its breaker at the threshold; the cooldown ends in a half-open state where a
single trial request is let through; its success closes the breaker, its failure
opens it again. A 429 with Retry-After cools the target down for that long."""
from __future__ import annotations

import pytest

from providers.health import breaker as health


@pytest.fixture(autouse=True)
def fresh(settings):
    settings.GATEWAY_HEALTH_FAILURE_THRESHOLD = 3
    settings.GATEWAY_HEALTH_COOLDOWN_SECONDS = 10.0
    settings.GATEWAY_HEALTH_WINDOW_SECONDS = 60.0
    settings.REDIS_URL = ""
    health.reset_for_tests()
    yield
    health.reset_for_tests()


def test_failures_below_the_threshold_keep_the_target_in_use():
    health.record_failure("p/m", "connect failed: ConnectionRefusedError")
    health.record_failure("p/m", "HTTP 503")
    assert health.available("p/m")
    state = health.target_state("p/m")
    assert state["state"] == "failing"
    assert state["last_error"] == "HTTP 503"
    assert state["error_rate"] == 1.0 and state["requests"] == 2


def test_the_threshold_opens_the_breaker_then_one_trial_decides(monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(health.time, "time", lambda: now[0])
    for _ in range(3):
        health.record_failure("p/m", "HTTP 502")
    assert not health.available("p/m")
    assert health.target_state("p/m")["state"] == "cooling_down"
    assert health.target_state("p/m")["cooling_down_until"] == now[0] + 10
    now[0] += 10.5
    assert health.available("p/m")  # half-open
    assert health.target_state("p/m")["state"] == "half_open"
    health.claim("p/m", 30)
    assert not health.available("p/m")  # one trial at a time
    health.record_failure("p/m", "HTTP 502")  # the trial failed
    assert health.target_state("p/m")["state"] == "cooling_down"
    now[0] += 10.5
    health.claim("p/m", 30)
    health.record_success("p/m")  # the trial succeeded
    assert health.available("p/m")
    assert health.target_state("p/m")["state"] == "healthy"
    health.record_failure("p/m", "HTTP 502")  # the old failures are settled: one new one does not reopen
    assert health.available("p/m")


def test_retry_after_cools_down_for_that_long(monkeypatch, settings):
    now = [2_000_000.0]
    monkeypatch.setattr(health.time, "time", lambda: now[0])
    health.record_failure("p/m", "HTTP 429", retry_after=42)
    assert health.target_state("p/m")["cooling_down_until"] == now[0] + 42
    settings.GATEWAY_HEALTH_MAX_RETRY_AFTER = 60
    health.record_failure("q/m", "HTTP 429", retry_after=86400)
    assert health.target_state("q/m")["cooling_down_until"] == now[0] + 60


def test_old_failures_leave_the_window(monkeypatch):
    now = [3_000_000.0]
    monkeypatch.setattr(health.time, "time", lambda: now[0])
    health.record_failure("p/m", "HTTP 500")
    health.record_failure("p/m", "HTTP 500")
    now[0] += 120
    health.record_failure("p/m", "HTTP 500")
    assert health.available("p/m")


def test_a_provider_shows_its_worst_target():
    for _ in range(3):
        health.record_failure("p/a", "connect failed")
    health.record_success("p/b")
    state = health.provider_state("p")
    assert state["state"] == "cooling_down"
    assert state["requests"] == 4 and state["error_rate"] == 0.75
    assert health.provider_state("unknown")["state"] == "healthy"
    assert health.provider_state("p-other")["requests"] == 0  # "p/" is a prefix of the keys, not "p"
