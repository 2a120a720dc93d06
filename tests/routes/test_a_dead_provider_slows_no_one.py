"""A provider that is down never makes the gateway slow for others (issue 14).

One gateway worker as deployed (uvicorn, its own process) serves three providers:
``live`` (a replica process that answers at once), ``silent`` (a socket that
accepts connections and never answers: a hung backend) and ``gone`` (a port with
nothing listening: a dead host). Route ``chat-default`` tries ``silent`` first and
``live`` only when ``silent`` is unavailable.

While 48 clients keep requests to ``silent`` waiting for their first byte and 16
more hammer ``gone``, a client asks ``live`` one request after another:

- every one of its requests succeeds, none waits more than ``BOUND`` (a healthy
  request takes milliseconds; a hung one waits ``SILENT_FIRST_BYTE`` seconds);
- requests for the route stop waiting on ``silent`` once its failures cooled it
  down: after the first few, every routed stream starts within ``BOUND`` and comes
  from ``live``.

A behaviour test over a fixed run with generous bounds, not a timing test: the
figures are printed, and what is asserted is that nobody waits on a dead backend.
"""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import aiohttp

from tests.conftest import free_port
from tests.fakes.gateway_process import gateway_process
from tests.fakes.replica_upstream import Replica

SILENT_FIRST_BYTE = 4.0  # seconds a request to the hung backend waits for its first byte
ROUTE_FIRST_BYTE = 2.0  # the route's wait for a target's first byte before the next target
BOUND = 1.0  # seconds: far above a healthy request here, far below either wait
RUN_SECONDS = 6.0
SILENT_CLIENTS = 48
GONE_CLIENTS = 16

SETUP = """
import json
from providers import services
from providers.routes import services as route_services
services.provider_create(name="live", provider_type="custom", base_url={live!r}, settings={{"models": ["m"]}})
services.provider_create(name="silent", provider_type="custom", base_url={silent!r},
                         settings={{"models": ["m"], "first_byte_timeout": {first_byte}, "retries": 0}})
services.provider_create(name="gone", provider_type="custom", base_url={gone!r},
                         settings={{"models": ["m"], "retries": 0}})
route_services.route_create(name="chat-default", first_byte_timeout={route_first_byte},
                            targets=route_services.targets_from_names([
                                {{"provider": "silent", "model": "m", "priority": 0}},
                                {{"provider": "live", "model": "m", "priority": 1}}]))
print(services.gateway_key_create(name="load")[1])
"""


class Blackhole:
    """Accepts every connection and never sends a byte (a hung backend)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def __enter__(self) -> Blackhole:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def closed_port() -> int:
    port = free_port()
    with socket.socket() as probe:  # nothing listens there: a connection is refused
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    return port


async def timed_chat(session: aiohttp.ClientSession, url: str, key: str, model: str,
                     stream: bool = False) -> tuple[float, int, str]:
    """(seconds to the first byte of the answer, status, the answer's text)."""
    started = time.monotonic()
    async with session.post(url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                            json={"model": model, "stream": stream,
                                  "messages": [{"role": "user", "content": "hi"}]}) as resp:
        first = await resp.content.readany()
        waited = time.monotonic() - started
        rest = await resp.read()
    return waited, resp.status, (first + rest).decode(errors="replace")


async def run(url: str, key: str) -> dict[str, list]:
    figures: dict[str, list] = {"baseline": [], "live": [], "routed": [], "silent": [], "gone": []}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                     timeout=aiohttp.ClientTimeout(total=60)) as session:
        for _ in range(20):  # the live provider's latency with nothing else going on
            waited, status, _text = await timed_chat(session, url, key, "live/m")
            figures["baseline"].append((waited, status))
        t0 = time.monotonic()

        async def hammer(model: str, into: str) -> None:
            while time.monotonic() - t0 < RUN_SECONDS:
                waited, status, _text = await timed_chat(session, url, key, model)
                figures[into].append((waited, status))

        async def ask(model: str, into: str, stream: bool) -> None:
            await asyncio.sleep(0.5)  # the dead backends are busy by now
            while time.monotonic() - t0 < RUN_SECONDS:
                waited, status, text = await timed_chat(session, url, key, model, stream)
                figures[into].append((waited, status, text))

        await asyncio.gather(
            *(hammer("silent/m", "silent") for _ in range(SILENT_CLIENTS)),
            *(hammer("gone/m", "gone") for _ in range(GONE_CLIENTS)),
            ask("live/m", "live", False), ask("chat-default", "routed", True))
    return figures


def spread(waits: list[float]) -> str:
    waits = sorted(waits)
    return f"n={len(waits)} p50={waits[len(waits) // 2] * 1000:.1f} ms max={waits[-1] * 1000:.1f} ms"


def test_a_dead_provider_keeps_nobody_else_waiting(tmp_path):
    live = Replica("live", free_port(), frames=1, gap=0.001).start()
    try:
        with Blackhole() as silent:
            setup = SETUP.format(live=live.base_url, silent=f"http://127.0.0.1:{silent.port}/v1",
                                 gone=f"http://127.0.0.1:{closed_port()}/v1", first_byte=SILENT_FIRST_BYTE,
                                 route_first_byte=ROUTE_FIRST_BYTE)
            env = {"GATEWAY_HEALTH_FAILURE_THRESHOLD": "3", "GATEWAY_HEALTH_COOLDOWN_SECONDS": "60",
                   "LOG_LEVEL": "CRITICAL"}
            with gateway_process(tmp_path, setup, env=env, args=("--backlog", "2048")) as gw:
                figures = asyncio.run(run(gw["url"], gw["setup_output"].strip()))
    finally:
        live.kill()

    print("\nlive alone:", spread([w for w, _s in figures["baseline"]]))
    print("live beside the dead:", spread([w for w, _s, _t in figures["live"]]))
    print("route beside the dead:", spread([w for w, _s, _t in figures["routed"]]))
    print("silent:", spread([w for w, _s in figures["silent"]]), "statuses", {s for _w, s in figures["silent"]})
    print("gone:", spread([w for w, _s in figures["gone"]]), "statuses", {s for _w, s in figures["gone"]})

    # The dead backends were really dead and really busy: the hung one held its
    # clients for its first-byte wait, the gone one refused every one.
    assert figures["silent"] and all(status in (502, 504) for _w, status in figures["silent"])
    assert min(w for w, _s in figures["silent"]) >= SILENT_FIRST_BYTE * 0.9
    assert len(figures["gone"]) > GONE_CLIENTS and all(status == 502 for _w, status in figures["gone"])

    # The live provider, asked one request after another meanwhile, never waited.
    assert len(figures["live"]) >= 10
    for waited, status, text in figures["live"]:
        assert status == 200, text[:300]
        assert json.loads(text)["choices"][0]["message"]["content"] == "from live"
        assert waited < BOUND, spread([w for w, _s, _t in figures["live"]])

    # The route: its first streams may wait on the hung target before falling back;
    # once that target cooled down (3 failures, seen from every request to it) no
    # stream waits on it, and every one is served by live.
    routed = figures["routed"]
    assert all(status == 200 and "from live" in text for _w, status, text in routed), routed[:3]
    settled = routed[3:]
    assert len(settled) >= 10
    assert all(waited < BOUND for waited, _s, _t in settled), spread([w for w, _s, _t in settled])
