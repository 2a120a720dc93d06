"""Three replica processes behind one route, weights 1:2:3, under 32 concurrent
streaming clients for 10 seconds against a gateway process as deployed. Three
seconds in, the weight-3 replica is killed (SIGKILL, with streams open); two
seconds later it is started again on its port (a new process, which takes a while
to listen on a loaded machine: if it has not served by the end of the run, single
requests follow until it does, within a bound).

- No request that had not received a byte fails: requests that would have gone to
  the dead replica fall back before their first byte (streams it was serving when
  it died fail mid-stream, which nobody can hide).
- The weights hold within ±10% over the healthy replicas: 1:2 between the two
  that never died (the whole run), 1:2:3 while all three were up.
- The killed replica cools down (the staff API shows it) and serves again once
  restarted (half-open trial, then its full share).

A behaviour test over a fixed run, not a timing test: it asserts no speed.
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import aiohttp

from tests.conftest import free_port
from tests.fakes.gateway_process import gateway_process
from tests.fakes.replica_upstream import Replica

RUN_SECONDS = 10.0
KILL_AT = 3.0
RESTART_AT = 5.0
COMEBACK_SECONDS = 30.0  # a bound on the wait for the restarted replica after the run (slow start when loaded)
CONCURRENCY = 32
WEIGHTS = {"a": 1, "b": 2, "c": 3}

SETUP = """
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from providers import services
from providers.routes import services as route_services
ports = {ports!r}
for name, port in ports.items():
    services.provider_create(name="replica-" + name, provider_type="custom", base_url=f"http://127.0.0.1:{{port}}/v1")
route_services.route_create(name="chat-default", targets=route_services.targets_from_names(
    [{{"provider": "replica-" + n, "model": "m", "weight": w}} for n, w in {weights!r}.items()]))
_key, raw = services.gateway_key_create(name="load")
user = get_user_model().objects.create_superuser("ops", "ops@example.com", None)
print(json.dumps({{"key": raw, "token": Token.objects.create(user=user).key}}))
"""


@dataclass
class Outcome:
    started: float
    replica: str | None  # who answered (from the first chunk)
    got_bytes: bool
    ok: bool
    detail: str = ""


async def one(session: aiohttp.ClientSession, url: str, key: str, t0: float) -> Outcome:
    started = time.monotonic() - t0
    got = False
    replica = None
    try:
        async with session.post(url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                                json={"model": "chat-default", "stream": True,
                                      "messages": [{"role": "user", "content": "hi"}]}) as resp:
            text = b""
            async for piece in resp.content.iter_any():
                got = True
                text += piece
        if resp.status != 200:
            return Outcome(started, None, got, False, f"HTTP {resp.status}: {text[:300]!r}")
        events = [e[6:] for e in text.decode().split("\n\n") if e.startswith("data: ")]
        first = json.loads(events[0])
        replica = first["choices"][0]["delta"]["content"].removeprefix("from ")
        assert first["model"] == "chat-default"
        ok = events[-1] == "[DONE]" and not any('"error"' in e for e in events)
        return Outcome(started, replica, got, ok, "" if ok else events[-1][:300])
    except Exception as exc:  # noqa: BLE001 -- a transport failure seen by the client
        return Outcome(started, replica, got, False, repr(exc))


async def load(url: str, key: str, token: str, replicas: dict[str, Replica]) -> tuple[list[Outcome], list[dict]]:
    t0 = time.monotonic()
    outcomes: list[Outcome] = []
    health_seen: list[dict] = []
    staff = {"Authorization": f"Token {token}"}

    async def providers_health(session: aiohttp.ClientSession) -> dict:
        async with session.get(url + "/api/providers/", headers=staff) as resp:
            body = await resp.json()
        return {p["name"]: p["health"] for p in (body["results"] if isinstance(body, dict) else body)}

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.monotonic() - t0 < RUN_SECONDS:
            outcomes.append(await one(session, url, key, t0))

    async def chaos(session: aiohttp.ClientSession) -> None:
        await asyncio.sleep(KILL_AT)
        await asyncio.to_thread(replicas["c"].kill)
        await asyncio.sleep(1.5)
        health_seen.append(await providers_health(session))
        await asyncio.sleep(RESTART_AT - KILL_AT - 1.5)
        await asyncio.to_thread(replicas["c"].start)

    connector = aiohttp.TCPConnector(limit=CONCURRENCY + 4)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        await asyncio.gather(chaos(session), *(worker(session) for _ in range(CONCURRENCY)))
        # If the restarted replica has not served yet (it starts slowly on a loaded
        # machine), go on asking, one request at a time, until it does (bounded).
        deadline = time.monotonic() + COMEBACK_SECONDS
        while not any(o.replica == "c" and o.started > RESTART_AT for o in outcomes) and time.monotonic() < deadline:
            outcomes.append(await one(session, url, key, t0))
        health_seen.append(await providers_health(session))
    return outcomes, health_seen


def share(outcomes: list[Outcome], names: tuple[str, ...]) -> dict[str, float]:
    counts = {n: sum(1 for o in outcomes if o.replica == n) for n in names}
    total = sum(counts.values())
    return {n: c / total for n, c in counts.items()}


def within(measured: float, expected: float) -> bool:
    return abs(measured - expected) <= 0.10 * expected


def test_three_replicas_one_killed_mid_run(tmp_path):
    replicas = {name: Replica(name, free_port(), frames=1, gap=0.005).start() for name in WEIGHTS}
    setup = SETUP.format(ports={n: r.port for n, r in replicas.items()}, weights=WEIGHTS)
    env = {"GATEWAY_HEALTH_COOLDOWN_SECONDS": "1", "GATEWAY_HEALTH_FAILURE_THRESHOLD": "2",
           "GATEWAY_ROUTE_MAX_ATTEMPTS": "3", "LOG_LEVEL": "ERROR"}
    try:
        with gateway_process(tmp_path, setup, env=env, args=("--backlog", "2048")) as gw:
            secrets = json.loads(gw["setup_output"])
            outcomes, health_seen = asyncio.run(load(gw["url"], secrets["key"], secrets["token"], replicas))
    finally:
        for replica in replicas.values():
            replica.kill()

    assert len(outcomes) > 500, len(outcomes)
    # 1. Nobody who had not received a byte got a failure.
    unserved = [o for o in outcomes if not o.ok and not o.got_bytes]
    assert unserved == [], unserved[:5]
    failed_mid_stream = [o for o in outcomes if not o.ok]
    assert all(o.replica == "c" for o in failed_mid_stream), failed_mid_stream[:5]
    assert all(o.started <= KILL_AT + 0.5 for o in failed_mid_stream), failed_mid_stream[:5]

    # 2. The weights over the healthy replicas: each request's expected share is its
    # replica's weight over the weights of the replicas healthy when it started
    # (c: not from the kill until it answered again).
    back = [o for o in outcomes if o.ok and o.replica == "c" and o.started > RESTART_AT]
    assert back, "the restarted replica never served again"
    c_back = min(o.started for o in back)
    served = [o for o in outcomes if o.replica is not None and o.started < RUN_SECONDS]
    expected = dict.fromkeys(WEIGHTS, 0.0)
    for o in served:
        healthy = ("a", "b") if KILL_AT <= o.started < c_back else tuple(WEIGHTS)
        for name in healthy:
            expected[name] += WEIGHTS[name] / sum(WEIGHTS[n] for n in healthy)
    measured = {n: sum(1 for o in served if o.replica == n) for n in WEIGHTS}
    assert all(within(measured[n], expected[n]) for n in WEIGHTS), (measured, expected)
    ab = share(served, ("a", "b"))
    assert within(ab["a"], 1 / 3) and within(ab["b"], 2 / 3), ab
    while_dead = [o for o in outcomes if KILL_AT + 0.5 < o.started < RESTART_AT]
    assert while_dead and all(o.replica in ("a", "b") for o in while_dead)

    # 3. The killed replica cooled down, then came back.
    during, after = health_seen
    assert during["replica-c"]["state"] in ("cooling_down", "half_open"), during
    assert "connect" in during["replica-c"]["last_error"]
    assert during["replica-a"]["state"] == "healthy", during
    assert after["replica-c"]["state"] in ("healthy", "failing"), after
    print(f"\n{len(outcomes)} requests; served {measured}, expected {expected}; c back after {c_back:.1f}s")
