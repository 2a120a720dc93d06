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

Fed by a listener on ``chat.requestlog.LISTENERS`` (runs per request on the event loop):
it adds to in-memory sums, which a thread of each worker writes to the shared files
every ``FLUSH_SECONDS`` (1 s), so a request costs a few dictionary updates, not eight
memory-mapped writes. Label values from clients are
bounded: at most ``GATEWAY_METRICS_MAX_SERIES`` (provider, model) pairs and error causes
per worker, then ``other``.
"""
from __future__ import annotations

import atexit
import bisect
import glob
import hmac
import logging
import math
import os
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from . import requestlog
from .models import Outcome

log = logging.getLogger("gateway.metrics")

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
        pairs=set(),
        causes=set(),
        dropped_seen=requestlog.dropped(),
        max_series=settings.GATEWAY_METRICS_MAX_SERIES,
    )
    requestlog.LISTENERS.append(listener)
    _start_flusher()
    os.register_at_fork(after_in_child=_start_flusher)  # a forked worker (gunicorn --preload) flushes too
    path = str(run)

    def at_exit() -> None:
        flush()
        multiprocess.mark_process_dead(os.getpid(), path)  # a forked child marks its own files

    atexit.register(at_exit)
    return True


# -- the hot path: counting in memory --------------------------------------------------
#
# A memory-mapped metric write costs microseconds (a lock, a pack, a pid check), and a
# request makes eight of them. So the listener only adds to plain dictionaries under an
# uncontended lock; a thread of the worker writes the sums to the shared files every
# FLUSH_SECONDS (and /metrics first writes the answering worker's own). Scrapes see the
# other workers' last requests at most FLUSH_SECONDS late.

FLUSH_SECONDS = 1.0
_BOUNDS = (*SECONDS_BUCKETS, math.inf)


class _Batch:
    """What the listener counted since the last flush."""

    __slots__ = ("causes", "latency", "refusals", "requests", "streams", "tokens", "ttft")

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = {}
        self.latency: dict[tuple[str, str], list[Any]] = {}  # [sum, count per bucket...]
        self.ttft: dict[tuple[str, str], list[Any]] = {}
        self.tokens: dict[tuple[str, str, str], int] = {}
        self.causes: dict[tuple[str, str], int] = {}
        self.refusals: dict[str, int] = {}
        self.streams = 0


_lock = threading.Lock()
_batch = _Batch()
_flush_lock = threading.Lock()


def _observe(histograms: dict[tuple[str, str], list[Any]], key: tuple[str, str], seconds: float) -> None:
    cells = histograms.get(key)
    if cells is None:
        cells = histograms[key] = [0.0] + [0] * len(_BOUNDS)
    cells[0] += seconds
    cells[1 + bisect.bisect_left(_BOUNDS, seconds)] += 1


def _label_pair(provider: str, model: str) -> tuple[str, str]:
    """Bounded: past ``max_series`` pairs, a provider's new models count as ``other``."""
    pairs = _state["pairs"]
    key = (provider, model)
    if key in pairs:
        return key
    if len(pairs) >= _state["max_series"]:
        return (provider, OTHER)  # providers are few (rows of the catalog): this stays bounded
    pairs.add(key)
    return key


def _cause(value: str) -> str:
    causes = _state["causes"]
    if value in causes:
        return value
    if len(causes) < _state["max_series"]:
        causes.add(value)
        return value
    return OTHER


def listener(event: str, record: requestlog.RequestRecord) -> None:
    """Count one request (``finish``) and follow streams in flight (``stream``)."""
    if event == "stream":
        record.extra["metrics_stream"] = True
        with _lock:
            _batch.streams += 1
        return
    if event != "finish":
        return
    provider = record.provider_name
    model = (record.upstream_model or record.requested_model)[:200] if provider else ""
    outcome = record.outcome
    with _lock:
        batch = _batch
        key = _label_pair(provider, model)
        if record.extra.get("metrics_stream"):
            batch.streams -= 1
        status_key = (*key, record.status)
        batch.requests[status_key] = batch.requests.get(status_key, 0) + 1
        _observe(batch.latency, key, record.latency_ms / 1000.0)
        if record.ttft_ms is not None:
            _observe(batch.ttft, key, record.ttft_ms / 1000.0)
        for direction, count in (("in", record.tokens_in), ("out", record.tokens_out),
                                 ("reasoning", record.tokens_reasoning)):
            if count:
                token_key = (*key, direction)
                batch.tokens[token_key] = batch.tokens.get(token_key, 0) + count
        if outcome == Outcome.UPSTREAM_ERROR:
            cause_key = (provider, _cause(record.error_code or str(record.status)))
            batch.causes[cause_key] = batch.causes.get(cause_key, 0) + 1
        elif outcome == Outcome.LIMITED:
            limit = _cause(record.error_code or str(record.status))
            batch.refusals[limit] = batch.refusals.get(limit, 0) + 1


def flush() -> None:
    """Write what was counted since the last flush to this worker's files."""
    global _batch
    if not _state:
        return
    with _flush_lock:
        with _lock:
            batch, _batch = _batch, _Batch()
        s = _state
        for (provider, model, status), count in batch.requests.items():
            s["requests"].labels(provider, model, str(status)).inc(count)
        for metric, histograms in ((s["latency"], batch.latency), (s["ttft"], batch.ttft)):
            for (provider, model), cells in histograms.items():
                child = metric.labels(provider, model)
                # The histogram's own values, as observe() writes them (sum, per-bucket counts).
                child._sum.inc(cells[0])
                for bucket, count in zip(child._buckets, cells[1:], strict=True):
                    if count:
                        bucket.inc(count)
        for (provider, model, direction), count in batch.tokens.items():
            s["tokens"].labels(provider, model, direction).inc(count)
        for (provider, cause), count in batch.causes.items():
            s["upstream_errors"].labels(provider, cause).inc(count)
        for limit, count in batch.refusals.items():
            s["refusals"].labels(limit).inc(count)
        if batch.streams:
            s["streams"].inc(batch.streams)
        dropped = requestlog.dropped()
        if dropped != s["dropped_seen"]:
            s["dropped"].inc(dropped - s["dropped_seen"])
            s["dropped_seen"] = dropped


def _flusher() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        try:
            flush()
        except Exception:  # a metrics bug must not stop the counting
            log.exception("metrics: writing the counts failed; they are retried")


def _start_flusher() -> None:
    threading.Thread(target=_flusher, name="metrics-flush", daemon=True).start()


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
    flush()  # this worker's latest counts; the others' are at most FLUSH_SECONDS old
    body, content_type = exposition()
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
