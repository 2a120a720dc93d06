"""Start the upstream and the gateway, run the load, measure.

Everything listens on 127.0.0.1. The gateway runs as it does in production: a
``uvicorn`` subprocess with uvloop and httptools, one worker, no access log,
on a temporary SQLite database migrated and provisioned with one ``custom``
provider (pointing at the fake upstream) and one gateway key. On two or more
cores the gateway gets a core of its own; the load client and the upstream share
the others. Direct and through-the-gateway runs alternate within each round, and
the figures are medians of rounds.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import client
from .upstream import PACED, ZERO, Pace

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")

# A stream that stays open: one chunk a second for an hour.
HELD = Pace(0.0, 3600, 1.0, 16)
# A stream for the disconnect test: a chunk every 10 ms, long enough never to end by itself.
LONG = Pace(0.0, 100_000, 0.010, 16)


@dataclass
class BenchConfig:
    preset: str = "full"
    concurrency: list[int] = field(default_factory=lambda: [1, 16, 64, 256])
    rounds: int = 3
    duration: float = 2.0
    warmup: float = 1.0
    min_requests: int = 20
    profiles: dict[str, Pace] = field(default_factory=lambda: {"zero": ZERO, "paced": PACED})
    modes: list[str] = field(default_factory=lambda: ["stream", "nonstream"])
    # The client wires measured: chat completions in every mode; /v1/messages and
    # /v1/responses (translated to the chat backend and back) streamed only.
    surfaces: list[str] = field(default_factory=lambda: ["chat", "messages", "responses"])
    memory_levels: list[int] = field(default_factory=lambda: [100, 500, 1000])
    disconnect_samples: int = 20
    pin: bool = True
    fast_path: bool = True
    workers: int = 1
    refresh_seconds: float | None = None  # GATEWAY_CONFIG_REFRESH_SECONDS of the gateway (None: its default)
    route: bool = False  # the client names a route (r.<model>) in front of the benchmark provider
    request_log: bool = True  # GATEWAY_REQUEST_LOG of the gateway (off: to measure what recording costs)

    @classmethod
    def preset_named(cls, name: str) -> BenchConfig:
        if name == "quick":
            return cls(preset="quick", rounds=1, duration=0.5, warmup=0.3, min_requests=5,
                       memory_levels=[100, 250, 500], disconnect_samples=5)
        if name == "smoke":
            return cls(preset="smoke", concurrency=[1, 4], rounds=1, duration=0.2, warmup=0.1, min_requests=2,
                       memory_levels=[5, 10, 20], disconnect_samples=2)
        return cls()

    def describe(self) -> dict[str, Any]:
        data = asdict(self)
        data["profiles"] = {
            name: {"ttft_ms": p.ttft * 1000, "chunks": p.chunks, "interval_ms": p.interval * 1000,
                   "chunk_chars": p.size}
            for name, p in self.profiles.items()
        }
        return data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def median(values: list[float]) -> float:
    clean = [v for v in values if v == v]
    return statistics.median(clean) if clean else float("nan")


def cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process, from /proc/<pid>/stat (utime, stime).

    These are sampled at the scheduler tick (100 Hz here): a process that wakes in
    step with the tick, as the paced upstream's 10 ms chunks make the gateway do,
    is caught running far more often than it runs. ``cpu_seconds`` is exact."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def cpu_seconds(pid: int) -> float:
    """CPU seconds of a process, all threads, from the scheduler's own accounting
    (/proc/<pid>/task/*/schedstat, nanoseconds on CPU); utime + stime where that
    file does not exist."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                    total += int(fh.read().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                continue  # a thread that just ended
    except FileNotFoundError:
        return sum(cpu_times(pid))
    return total / 1e9 if total else sum(cpu_times(pid))


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    if len(points) < 2:
        return float("nan")
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else float("nan")


def _pinner(cores: set[int] | None) -> Callable[[], None] | None:
    if not cores:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, cores)

    return pin


class Processes:
    """The upstream and gateway subprocesses, and the temporary state they use."""

    def __init__(self, config: BenchConfig, log: Callable[[str], None]) -> None:
        self.config = config
        self.log = log
        self.tmp = Path(tempfile.mkdtemp(prefix="gw-bench-"))
        self.procs: list[subprocess.Popen[bytes]] = []
        self.upstream_port = free_port()
        self.gateway_port = free_port()
        self.gateway_pid = 0
        self.log_rows: int | None = None  # rows the request log wrote, counted at stop()
        self.gateway: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}
        self.key = ""
        cores = sorted(os.sched_getaffinity(0))
        self.pinned = config.pin and len(cores) >= 2
        self.gateway_cores = {cores[-1]} if self.pinned else None
        self.other_cores = set(cores[:-1]) if self.pinned else None
        self.original_affinity = set(cores)

    def gateway_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "DJANGO_"))}
        for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY_FILE", "GATEWAY_ENCRYPTION_KEY_FILE"):
            env.pop(name, None)
        env.update(
            DJANGO_SETTINGS_MODULE="gateway.settings",
            DEBUG="false",
            GATEWAY_TESTING="false",
            SECURE_SSL_REDIRECT="false",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECRET_KEY=secrets.token_urlsafe(48),
            GATEWAY_ENCRYPTION_KEY=secrets.token_urlsafe(48),
            GATEWAY_VAR_DIR=str(self.tmp),
            GATEWAY_SQLITE_PATH=str(self.tmp / "bench.sqlite3"),
            GATEWAY_ASGI_FAST_PATH="1" if self.config.fast_path else "0",
            GATEWAY_REQUEST_LOG="true" if self.config.request_log else "false",
            LOG_LEVEL="WARNING",
            PYTHONDONTWRITEBYTECODE="1",
        )
        if self.config.refresh_seconds is not None:
            env["GATEWAY_CONFIG_REFRESH_SECONDS"] = str(self.config.refresh_seconds)
        return env

    def start(self) -> None:
        if self.other_cores is not None:  # pinned
            os.sched_setaffinity(0, self.other_cores)  # the load client
        py = sys.executable
        upstream = subprocess.Popen(
            [py, "-m", "bench.upstream", "--port", str(self.upstream_port)],
            cwd=ROOT, stdout=subprocess.PIPE, preexec_fn=_pinner(self.other_cores),
        )
        self.procs.append(upstream)
        assert upstream.stdout is not None
        upstream.stdout.readline()  # "listening ..."
        env = self.env = self.gateway_env()  # fixed: a restarted gateway must read the same secrets
        subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        out = subprocess.run(
            [py, "-m", "bench.provision", "--base-url", f"http://127.0.0.1:{self.upstream_port}/v1",
             "--route-models", ",".join(p.model for p in [*self.config.profiles.values(), HELD, LONG])
             if self.config.route else ""],
            cwd=ROOT, env=env, check=True, capture_output=True,
        )
        self.key = json.loads(out.stdout.decode().strip().splitlines()[-1])["key"]
        self.start_gateway()

    def start_gateway(self) -> None:
        py = sys.executable
        env = self.env
        # A development aid: BENCH_GATEWAY_PROFILE=/tmp/gw.prof runs the gateway under cProfile.
        profile = os.environ.get("BENCH_GATEWAY_PROFILE")
        cmd = [
            py, "-m", "uvicorn", "gateway.asgi:application",
            "--host", "127.0.0.1", "--port", str(self.gateway_port),
            "--loop", "uvloop", "--http", "httptools", "--no-access-log",
            "--log-level", "warning", "--backlog", "4096", "--lifespan", "off",
        ]
        if self.config.workers > 1:
            cmd += ["--workers", str(self.config.workers)]
        if profile:
            if self.gateway is not None:  # a restarted gateway writes a profile of its own
                profile += ".restarted"
            cmd = [py, "-m", "bench.profiled", "--port", str(self.gateway_port), "--out", profile]
        gateway = subprocess.Popen(cmd, cwd=ROOT, env=env, preexec_fn=_pinner(self.gateway_cores))
        self.procs.append(gateway)
        self.gateway = gateway
        self.gateway_pid = gateway.pid
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.gateway_port), timeout=0.2):
                    break
            except OSError:
                if gateway.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the gateway did not start") from None
                time.sleep(0.05)

    def restart_gateway(self) -> None:
        """A fresh gateway process (same database and key), e.g. so that memory
        measurements do not reuse what earlier load left in the heap."""
        assert self.gateway is not None
        self.gateway.terminate()
        self.gateway.wait(10)
        self.procs.remove(self.gateway)
        self.start_gateway()

    def request_log_rows(self) -> int | None:
        """Rows the gateway's request log wrote (read after it stopped, so its last
        flush is in): the proof that recording was on while it was measured."""
        import sqlite3

        path = self.tmp / "bench.sqlite3"
        if not path.exists():
            return None
        with contextlib.closing(sqlite3.connect(path)) as db:
            try:
                return int(db.execute("SELECT COUNT(*) FROM chat_requestlog").fetchone()[0])
            except sqlite3.Error:
                return None

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.pinned:
            os.sched_setaffinity(0, self.original_affinity)
        self.log_rows = self.request_log_rows()
        shutil.rmtree(self.tmp, ignore_errors=True)


SURFACE_PATHS = {"chat": "/v1/chat/completions", "messages": "/v1/messages", "responses": "/v1/responses"}


def _body(pace: Pace, stream: bool, prefix: str, surface: str = "chat") -> dict[str, Any]:
    if surface == "responses":
        return {"model": prefix + pace.model, "input": "Say hello.", "stream": stream}
    body: dict[str, Any] = {
        "model": prefix + pace.model,
        "messages": [{"role": "user", "content": "Say hello."}],
        "stream": stream,
    }
    if surface == "messages":
        body["max_tokens"] = 1024
    return body


def _latency_ms(result: client.RunResult) -> dict[str, float]:
    return {
        "ttft_p50": percentile(result.ttft, 50) * 1000,
        "ttft_p99": percentile(result.ttft, 99) * 1000,
        "total_p50": percentile(result.total, 50) * 1000,
        "total_p99": percentile(result.total, 99) * 1000,
    }


class Bench:
    def __init__(self, config: BenchConfig, log: Callable[[str], None] = print) -> None:
        self.config = config
        self.log = log
        self.procs = Processes(config, log)

    @property
    def direct(self) -> client.Target:
        return client.Target("127.0.0.1", self.procs.upstream_port, "/v1/chat/completions")

    @property
    def gateway(self) -> client.Target:
        return self.gateway_for("chat")

    def gateway_for(self, surface: str) -> client.Target:
        """The gateway's door for a client wire; the direct target stays the chat
        backend itself, so a translated surface's figures include its translation."""
        return client.Target(
            "127.0.0.1", self.procs.gateway_port, SURFACE_PATHS[surface],
            {"Authorization": f"Bearer {self.procs.key}"},
        )

    def body(self, target: client.Target, pace: Pace, stream: bool) -> dict[str, Any]:
        through = target is not None and target.port == self.procs.gateway_port
        surface = next((s for s, path in SURFACE_PATHS.items() if path == target.path), "chat") if through else "chat"
        gateway_prefix = "r." if self.config.route else "bench/"
        return _body(pace, stream, gateway_prefix if through else "", surface)

    async def one_run(self, target: client.Target, pace: Pace, stream: bool, concurrency: int) -> dict[str, Any]:
        pid = self.procs.gateway_pid
        cpu0 = cpu_seconds(pid)
        result = await client.run_load(
            target, self.body(target, pace, stream), concurrency=concurrency,
            # At least one answer per client: a window too short for a slow target to finish any
            # request stretches until it has, instead of reporting zero.
            duration=self.config.duration, min_requests=max(self.config.min_requests if concurrency == 1 else 0,
                                                            concurrency),
            ramp=(pace.ttft + pace.chunks * pace.interval) if concurrency > 1 else 0.0,
        )
        cpu = cpu_seconds(pid) - cpu0
        return {
            "requests": result.requests,
            "completed": result.completed,
            "errors": result.errors,
            "error_samples": result.error_samples,
            "elapsed_s": result.elapsed,
            "rps": result.rps,
            "gateway_cpu_s": cpu,
            **_latency_ms(result),
        }

    def variants(self) -> list[tuple[str, str]]:
        """(surface, mode) pairs measured: chat in every mode, the other wires streamed."""
        cfg = self.config
        return [(surface, mode) for surface in cfg.surfaces for mode in cfg.modes
                if surface == "chat" or mode == "stream"]

    async def load_matrix(self) -> list[dict[str, Any]]:
        cfg = self.config
        rows = []
        for profile, pace in cfg.profiles.items():
            for surface, mode in self.variants():
                stream = mode == "stream"
                through = self.gateway_for(surface)
                for target in (self.direct, through):
                    await client.run_load(target, self.body(target, pace, stream),
                                          concurrency=max(cfg.concurrency), duration=cfg.warmup)
                for conc in cfg.concurrency:
                    rounds = []
                    for r in range(cfg.rounds):
                        order = ("direct", "gateway") if r % 2 == 0 else ("gateway", "direct")
                        pair: dict[str, dict[str, Any]] = {}
                        for which in order:
                            target = self.direct if which == "direct" else through
                            pair[which] = await self.one_run(target, pace, stream, conc)
                        rounds.append(pair)
                    row = summarise(profile, mode, conc, rounds, surface)
                    self.log(
                        f"  {surface:9} {profile:6} {mode:9} c={conc:<4} direct {row['direct_rps']:8.0f}/s  "
                        f"gateway {row['gateway_rps']:8.0f}/s  ratio {row['ratio']:.3f}  "
                        f"+ttft p50 {row['added_ttft_ms']['p50']:6.2f} ms "
                        f" +total p99 {row['added_total_ms']['p99']:6.2f} ms  "
                        f"cpu {row['gateway_cpu_ms_per_request']:.3f} ms/req"
                    )
                    rows.append(row)
        return rows

    async def memory(self) -> dict[str, Any]:
        pid = self.procs.gateway_pid
        held: list[client.HeldStream] = []
        points = []
        body = self.body(self.gateway, HELD, True)
        baseline = rss_kib(pid)
        failures = 0
        try:
            for level in sorted(self.config.memory_levels):
                batch: list[Any] = []
                while len(held) + len(batch) < level:
                    batch.append(await client.open_stream(self.gateway, body))
                    if len(batch) % 100 == 0:
                        await asyncio.sleep(0)
                outcomes = await asyncio.gather(*(asyncio.wait_for(asyncio.shield(h.first), 30) for h in batch),
                                                return_exceptions=True)
                failures += sum(1 for o in outcomes if isinstance(o, BaseException))
                held.extend(batch)
                await asyncio.sleep(0.5)
                rss = rss_kib(pid)
                points.append({"streams": len(held), "rss_kib": rss})
                self.log(f"  {len(held):5} held streams: gateway RSS {rss / 1024:.1f} MiB")
        finally:
            for h in held:
                h.close()
            await asyncio.sleep(0.5)
        per_stream = slope([(p["streams"], p["rss_kib"]) for p in points])
        return {
            "baseline_rss_kib": baseline,
            "levels": points,
            "kib_per_stream": per_stream,
            "failed_streams": failures,
            "max_streams_held": max(p["streams"] for p in points) - failures if points else 0,
        }

    async def disconnects(self) -> dict[str, Any]:
        out = {}
        control = client.Target("127.0.0.1", self.procs.upstream_port, "/")
        for which, target in (("direct", self.direct), ("gateway", self.gateway)):
            samples = []
            for _ in range(self.config.disconnect_samples):
                await client.post_json(control, "/_bench/reset", {})
                held = await client.open_stream(target, self.body(target, LONG, True))
                await held.first
                await asyncio.sleep(0.02)
                t0 = time.monotonic()
                held.close()
                deadline = t0 + 10
                seen = None
                while time.monotonic() < deadline:
                    await asyncio.sleep(0.002)
                    data = await client.fetch_json(control, "/_bench/disconnects")
                    later = [t for t in data["disconnects"] if t >= t0]
                    if later:
                        seen = later[0]
                        break
                samples.append((seen - t0) * 1000 if seen is not None else float("nan"))
            valid = [s for s in samples if s == s]
            out[which] = {
                "p50_ms": percentile(valid, 50),
                "max_ms": max(valid) if valid else float("nan"),
                "samples": len(samples),
                "missed": len(samples) - len(valid),
            }
            self.log(f"  disconnect {which}: p50 {out[which]['p50_ms']:.2f} ms, max {out[which]['max_ms']:.2f} ms")
        return out

    async def _run(self) -> dict[str, Any]:
        self.log("load:")
        rows = await self.load_matrix()
        self.log("memory per held stream (a fresh gateway process):")
        self.procs.restart_gateway()
        memory = await self.memory()
        self.log("client disconnect to upstream:")
        disconnect = await self.disconnects()
        return {"results": rows, "memory": memory, "disconnect": disconnect}

    def run(self) -> dict[str, Any]:
        from .report import fingerprint, targets

        started = time.time()
        load_before = os.getloadavg()
        self.procs.start()
        try:
            try:
                import uvloop

                loop_factory = uvloop.new_event_loop
            except ImportError:  # pragma: no cover
                loop_factory = None
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                data = runner.run(self._run())
        finally:
            self.procs.stop()
        data["config"] = self.config.describe()
        data["machine"] = fingerprint()
        data["machine"]["loadavg_before"] = load_before
        data["machine"]["loadavg_after"] = os.getloadavg()
        data["machine"]["pinned"] = self.procs.pinned
        data["machine"]["gateway_cores"] = sorted(self.procs.gateway_cores or [])
        data["machine"]["client_cores"] = sorted(self.procs.other_cores or [])
        data["request_log"] = {"on": self.config.request_log, "rows_written": self.procs.log_rows}
        data["schema"] = 1
        data["started_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))
        data["duration_s"] = round(time.time() - started, 1)
        data["targets"] = targets(data)
        return data


def summarise(profile: str, mode: str, conc: int, rounds: list[dict[str, dict[str, Any]]],
              surface: str = "chat") -> dict[str, Any]:
    d = [r["direct"] for r in rounds]
    g = [r["gateway"] for r in rounds]

    def added(key: str) -> float:
        return median([gr[key] - dr[key] for gr, dr in zip(g, d, strict=False)])

    return {
        "surface": surface,
        "profile": profile,
        "mode": mode,
        "concurrency": conc,
        "direct_rps": median([x["rps"] for x in d]),
        "gateway_rps": median([x["rps"] for x in g]),
        "ratio": median([gr["rps"] / dr["rps"] if dr["rps"] else float("nan") for gr, dr in zip(g, d, strict=False)]),
        "added_ttft_ms": {"p50": added("ttft_p50"), "p99": added("ttft_p99")},
        "added_total_ms": {"p50": added("total_p50"), "p99": added("total_p99")},
        "direct_ms": {k: median([x[k] for x in d]) for k in ("ttft_p50", "ttft_p99", "total_p50", "total_p99")},
        "gateway_ms": {k: median([x[k] for x in g]) for k in ("ttft_p50", "ttft_p99", "total_p50", "total_p99")},
        "gateway_cpu_ms_per_request": median(
            [x["gateway_cpu_s"] * 1000 / x["completed"] if x["completed"] else float("nan") for x in g]
        ),
        "errors": {"direct": sum(x["errors"] for x in d), "gateway": sum(x["errors"] for x in g)},
        "error_samples": (d[0]["error_samples"] + g[0]["error_samples"])[:4],
        "rounds": rounds,
    }
