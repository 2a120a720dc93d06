"""What the request log's writer thread costs the event loop beside it.

The writer (``chat/requestlog_writer.py``) turns queued records into rows and
inserts them, holding the GIL for the Python part of that work. This fills the
queue with N finished records (a second of traffic at N requests a second), runs
one flush in a thread the way the writer does, and meanwhile measures how late a
busy event loop's 0.5 ms timers fire, on a temporary SQLite database::

    .venv/bin/python -m bench.log_writer                  # 1,000 rows, batches of 100 and 500 (the default)
    .venv/bin/python -m bench.log_writer --rows 2000 --batches 50,100,500

Prints, per batch size, the flush's wall time and CPU per row and the event loop's
worst and median lateness during the flush, beside the same loop with no flush. A
measurement, not a test: run it on a calm machine.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
from typing import Any

SPIN = 2000  # a little work per timer, as a loaded worker has


async def _lateness(done: threading.Event) -> list[float]:
    """Milliseconds each 0.5 ms timer fired late, until ``done`` is set."""
    loop = asyncio.get_running_loop()
    late = []
    while not done.is_set():
        start = loop.time()
        await asyncio.sleep(0.0005)
        late.append((loop.time() - start - 0.0005) * 1000)
        total = 0
        for i in range(SPIN):
            total += i
    return late


def _record(requestlog: Any) -> Any:
    record = requestlog.start("chat", method="POST", path="/v1/chat/completions", peer="127.0.0.1")
    record.key_id, record.key_name = 1, "bench"
    record.provider_name, record.provider_type = "bench", "custom"
    record.requested_model, record.upstream_model = "bench/paced", "paced"
    record.stream, record.status, record.outcome = True, 200, "ok"
    record.tokens_in, record.tokens_out, record.ttft_ms, record.bytes_out = 5, 20, 50.0, 3000
    record.finished, record.latency_ms = True, 250.0
    return record


def _flush(writer: Any, cpu: list[float], done: threading.Event) -> None:
    """One flush as the writer thread does it; its CPU time."""
    started = time.thread_time()
    writer.flush()
    cpu.append(time.thread_time() - started)
    done.set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--batches", default="100,500", help="comma-separated GATEWAY_REQUEST_LOG_BATCH values")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="gateway-bench-log-writer-")
    os.environ["GATEWAY_SQLITE_PATH"] = os.path.join(workdir, "gateway.sqlite3")
    os.environ["GATEWAY_VAR_DIR"] = workdir
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from chat import requestlog
    from chat import requestlog_writer as writer

    call_command("migrate", verbosity=0)

    async def measure(batch: int) -> dict[str, float]:
        settings.GATEWAY_REQUEST_LOG_BATCH = batch
        walls, cpus, worst, medians = [], [], [], []
        for _ in range(args.rounds):
            requestlog.QUEUE.extend(_record(requestlog) for _ in range(args.rows))
            done = threading.Event()
            cpu: list[float] = []
            started = time.perf_counter()
            threading.Thread(target=_flush, args=(writer, cpu, done)).start()
            late = await _lateness(done)
            walls.append((time.perf_counter() - started) * 1000)
            cpus.append(cpu[0] * 1e6 / args.rows)
            worst.append(max(late))
            medians.append(statistics.median(late))
        return {"wall": statistics.median(walls), "cpu": statistics.median(cpus),
                "worst": statistics.median(worst), "median": statistics.median(medians)}

    async def run() -> None:
        quiet = threading.Event()
        asyncio.get_running_loop().call_later(0.1, quiet.set)
        idle = await _lateness(quiet)
        print(f"no flush: timers late by at most {max(idle):.2f} ms (median {statistics.median(idle):.2f} ms)")
        for batch in [int(b) for b in args.batches.split(",") if b.strip()]:
            figures = await measure(batch)
            print(f"batch {batch:>4}: flush of {args.rows} rows {figures['wall']:.1f} ms wall, "
                  f"{figures['cpu']:.1f} µs CPU per row; timers late by at most {figures['worst']:.2f} ms "
                  f"(median {figures['median']:.2f} ms); medians of {args.rounds} rounds")

    asyncio.run(run())


if __name__ == "__main__":
    main()
