"""Prometheus metrics of the /v1 traffic, correct with several workers on one machine.

On when ``GATEWAY_METRICS_TOKEN`` is set: ``GET /metrics`` then answers in the Prometheus
text format to ``Authorization: Bearer <token>``; with no token, ``/metrics`` is a 404
and nothing here runs.

Several workers: the standard ``prometheus_client`` multiprocess mode. Each worker
writes its values to memory-mapped files in one directory and ``/metrics`` (answered by
any worker) sums them all. The gateway manages that directory itself
(``GATEWAY_METRICS_DIR``, by default ``var/metrics``) and sets
``PROMETHEUS_MULTIPROC_DIR`` for its own process:

- each server run gets ``<GATEWAY_METRICS_DIR>/run-<process group>-<its start>``: the workers of one
  ``uvicorn --workers N`` (or gunicorn) share their supervisor's process group, so they
  share the directory; a new run starts from zero;
- a worker that exits removes its live gauges (streams in flight) from the sums
  (``mark_process_dead``); its counters stay until the run ends, so totals never go
  backwards when one worker is replaced; a starting worker does the same for workers
  that were killed (``kill -9``) and removes the directories of runs that are over.

Fed by a listener on ``chat.requestlog.LISTENERS`` (runs per request on the event loop:
a few dictionary lookups and memory-mapped writes). Label values from clients are
bounded: at most ``GATEWAY_METRICS_MAX_SERIES`` (provider, model) pairs and error causes
per worker, then ``other``.
"""
from __future__ import annotations

import atexit
import glob
import hmac
import os
import re
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from . import requestlog
from .models import Outcome

OTHER = "other"
SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

_state: dict[str, Any] = {}  # the metric objects and the run directory, once installed


def enabled() -> bool:
    return bool(settings.GATEWAY_METRICS_TOKEN)


def _started(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, Linux), or "0": with the
    process group id it names one server run, even once the id is used again."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


def run_directory() -> Path:
    pgid = os.getpgid(0)
    return Path(settings.GATEWAY_METRICS_DIR) / f"run-{pgid}-{_started(pgid)}"


def _run_over(name: str) -> bool:
    match = re.fullmatch(r"run-(\d+)-(\d+)", name)
    if match is None:
        return False  # not ours: leave it
    pgid, started = int(match.group(1)), match.group(2)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    return started != "0" and _started(pgid) not in (started, "0")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tidy(root: Path, run: Path) -> None:
    """Remove the directories of runs that are over and the live gauges of dead workers."""
    from prometheus_client import multiprocess

    for other in root.glob("run-*"):
        if other != run and _run_over(other.name):
            shutil.rmtree(other, ignore_errors=True)
    for path in glob.glob(str(run / "gauge_live*_*.db")):
        pid = int(path.rsplit("_", 1)[1][:-3])
        if not _pid_alive(pid):
            multiprocess.mark_process_dead(pid, str(run))


def install() -> bool:
    """Set up multiprocess metrics in this process and register the listener (once).

    Returns whether metrics are on. Call before anything else imports ``prometheus_client``
    (``gateway/asgi.py`` does); it also forces the multiprocess value class in case."""
    if _state or not enabled():
        return bool(_state)
    run = run_directory()
    run.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(run)
    from prometheus_client import Counter, Gauge, Histogram, multiprocess, values

    if values.ValueClass.__name__ != "MmapedValue":
        values.ValueClass = values.MultiProcessValue()
    _tidy(run.parent, run)
    _state.update(
        run=run,
        requests=Counter("gateway_requests", "Requests to /v1, by provider, model and HTTP status.",
                         ["provider", "model", "status"]),
        latency=Histogram("gateway_request_duration_seconds", "Time from the request to the end of the answer.",
                          ["provider", "model"], buckets=SECONDS_BUCKETS),
        ttft=Histogram("gateway_time_to_first_token_seconds", "Time from the request to the first byte of the answer.",
                       ["provider", "model"], buckets=SECONDS_BUCKETS),
        tokens=Counter("gateway_tokens", "Tokens reported by the upstream (unknown counts are not added).",
                       ["provider", "model", "direction"]),
        streams=Gauge("gateway_streams_in_flight", "Streamed answers being sent now.", multiprocess_mode="livesum"),
        upstream_errors=Counter("gateway_upstream_errors", "Requests that failed upstream, by cause.",
                                ["provider", "cause"]),
        refusals=Counter("gateway_limit_refusals", "Requests refused by a limit, by limit.", ["limit"]),
        dropped=Counter("gateway_request_log_dropped_rows", "Request log rows dropped because the queue was full."),
        children={},
        causes={},
        dropped_seen=requestlog.dropped(),
        max_series=settings.GATEWAY_METRICS_MAX_SERIES,
    )
    pid, path = os.getpid(), str(run)
    atexit.register(lambda: multiprocess.mark_process_dead(pid, path))
    requestlog.LISTENERS.append(listener)
    return True


class _Series:
    """The labelled children of one (provider, model) pair, made once (labels() is not free)."""

    __slots__ = ("by_status", "latency", "model", "provider", "reasoning", "tokens_in", "tokens_out", "ttft")

    def __init__(self, provider: str, model: str) -> None:
        s = _state
        self.provider, self.model = provider, model
        self.latency = s["latency"].labels(provider, model)
        self.ttft = s["ttft"].labels(provider, model)
        self.tokens_in = s["tokens"].labels(provider, model, "in")
        self.tokens_out = s["tokens"].labels(provider, model, "out")
        self.reasoning = s["tokens"].labels(provider, model, "reasoning")
        self.by_status: dict[int, Any] = {}

    def requests(self, status: int) -> Any:
        counter = self.by_status.get(status)
        if counter is None:
            counter = self.by_status[status] = _state["requests"].labels(self.provider, self.model, str(status))
        return counter


def _series(provider: str, model: str) -> _Series:
    """Bounded: past ``max_series`` pairs, a provider's new models count as ``other``."""
    children = _state["children"]
    found = children.get((provider, model))
    if found is None:
        if len(children) >= _state["max_series"] and model != OTHER:
            return _series(provider, OTHER)  # providers are few (rows of the catalog): this stays bounded
        found = children[(provider, model)] = _Series(provider, model)
    return found


def _cause(value: str) -> str:
    causes = _state["causes"]
    if value in causes or len(causes) < _state["max_series"]:
        causes[value] = True
        return value
    return OTHER


def listener(event: str, record: requestlog.RequestRecord) -> None:
    """Count one request (``finish``) and follow streams in flight (``stream``)."""
    s = _state
    if event == "stream":
        s["streams"].inc()
        record.extra["metrics_stream"] = True
        return
    if event != "finish":
        return
    if record.extra.get("metrics_stream"):
        s["streams"].dec()
    provider = record.provider_name
    model = record.upstream_model or record.requested_model if provider else ""
    series = _series(provider, model[:200])
    status = record.status
    series.requests(status).inc()
    series.latency.observe(record.latency_ms / 1000.0)
    if record.ttft_ms is not None:
        series.ttft.observe(record.ttft_ms / 1000.0)
    if record.tokens_in:
        series.tokens_in.inc(record.tokens_in)
    if record.tokens_out:
        series.tokens_out.inc(record.tokens_out)
    if record.tokens_reasoning:
        series.reasoning.inc(record.tokens_reasoning)
    outcome = record.outcome
    if outcome == Outcome.UPSTREAM_ERROR:
        s["upstream_errors"].labels(provider, _cause(record.error_code or str(status))).inc()
    elif outcome == Outcome.LIMITED:
        s["refusals"].labels(_cause(record.error_code or str(status))).inc()
    dropped = requestlog.dropped()
    if dropped != s["dropped_seen"]:
        s["dropped"].inc(dropped - s["dropped_seen"])
        s["dropped_seen"] = dropped


def exposition() -> tuple[bytes, str]:
    """The text of ``/metrics``: every worker's values summed (body, content type)."""
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        CollectorRegistry,
        generate_latest,
        multiprocess,
    )

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(_state["run"]))
    return generate_latest(registry), CONTENT_TYPE_LATEST


@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: a 404 unless ``GATEWAY_METRICS_TOKEN`` is set; then that token as a Bearer."""
    token = settings.GATEWAY_METRICS_TOKEN
    if not token:
        raise Http404
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        response = HttpResponse(b"Unauthorized: send Authorization: Bearer <GATEWAY_METRICS_TOKEN>.\n", status=401,
                                content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    install()
    body, content_type = exposition()
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
