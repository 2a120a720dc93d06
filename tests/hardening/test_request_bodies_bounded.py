"""/v1 request bodies cannot be used to hold a worker's memory or time, on both
doors (the ASGI fast path, and Django's handler behind it, which takes a request
that e.g. carries a cookie). Each case runs against a real uvicorn worker process:

- the gateway key is checked from the headers before the body is read: 60
  strangers stalled near the end of a 10 MiB body each get their 401 at once,
  and the worker's memory stays flat (before, the whole body was read first:
  about 640 MB held for 60 such clients, and no answer until the last byte);
- a known key's body must arrive within ``GATEWAY_BODY_TIMEOUT_SECONDS``: 408 in
  the OpenAI shape, connection closed;
- bodies being received may hold at most ``GATEWAY_MAX_INFLIGHT_BODY_BYTES`` in a
  worker: the request that would pass it gets a 503 with ``Retry-After`` at once,
  and the bytes are given back when a body is done (or its client leaves)."""
from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.hardening.workers import Deployment, Worker

BIG = 10 * 1024 * 1024
BODY_TIMEOUT = 1.5
INFLIGHT_CAP = 1024 * 1024
STRANGERS = 60
RSS_GROWTH_BOUND = 48 * 1024 * 1024  # 60 bodies read in full would be over 600 MiB


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, upstream_server) -> Iterator[tuple[Deployment, str]]:
    deployment = Deployment(tmp_path_factory.mktemp("bodies"), {
        "GATEWAY_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT), "GATEWAY_MAX_INFLIGHT_BODY_BYTES": str(INFLIGHT_CAP),
    })
    key = deployment.shell(
        "from providers import services\n"
        f"services.provider_create(name='local', provider_type='custom', base_url='{upstream_server.base_url}')\n"
        "_k, raw = services.gateway_key_create(name='uploader')\n"
        "print(raw)"
    )
    yield deployment, key
    deployment.stop()


@pytest.fixture(params=["fast-path", "django-path"])
def worker(request, deployment) -> Iterator[tuple[Worker, str, str]]:
    dep, key = deployment
    # The Django door is forced here by turning the fast path off; a cookie would do the same.
    w = dep.start(GATEWAY_ASGI_FAST_PATH="1" if request.param == "fast-path" else "0")
    yield w, key, request.param
    w.stop()
    dep.workers.remove(w)


def _open(worker: Worker, length: int, key: str | None = None) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", worker.port), timeout=10)
    head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n" + (f"Authorization: Bearer {key}\r\n" if key else "") + "\r\n")
    sock.sendall(head.encode())
    return sock


def _push(sock: socket.socket, n: int) -> int:
    """Send up to ``n`` body bytes without blocking; how many went."""
    sock.setblocking(False)
    sent = 0
    chunk = b" " * 65536
    try:
        while sent < n:
            sent += sock.send(chunk[: n - sent])
    except BlockingIOError:
        pass
    finally:
        sock.setblocking(True)
    return sent


def _response(sock: socket.socket, timeout: float) -> tuple[int, dict[str, str], bytes]:
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        assert piece, f"closed without an answer: {data!r}"
        data += piece
    head, _sep, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}
    length = int(headers["content-length"])
    while len(rest) < length:
        piece = sock.recv(65536)
        assert piece
        rest += piece
    return int(lines[0].split()[1]), headers, rest[:length]


def _assert_openai(body: bytes, code: str) -> dict:
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["code"] == code, error
    return error


def test_strangers_stalled_near_the_end_of_a_big_body_get_401_at_once_and_hold_no_memory(worker):
    w, key, _door = worker
    assert httpx.post(f"{w.url}/v1/chat/completions", json={"model": "local/text", "messages": []},
                      headers={"Authorization": f"Bearer {key}"}, trust_env=False).status_code == 200  # warm
    before = w.rss_bytes()
    started = time.monotonic()
    socks = [_open(w, BIG) for _ in range(STRANGERS)]
    pushed = [_push(s, BIG - 1) for s in socks]  # never the last byte
    answers = [_response(s, timeout=10) for s in socks]
    elapsed = time.monotonic() - started
    growth = w.rss_bytes() - before
    for s in socks:
        s.close()
    for status, headers, body in answers:
        assert status == 401, body
        assert headers["content-type"] == "application/json"
        _assert_openai(body, "invalid_api_key")
    assert elapsed < 10
    assert growth < RSS_GROWTH_BOUND, f"RSS grew {growth / 2**20:.1f} MiB"
    assert sum(pushed) > 0


def test_a_known_key_whose_body_stalls_gets_408_and_the_connection_closed(worker):
    w, key, _door = worker
    sock = _open(w, 1000, key)
    sock.sendall(b'{"model": ')
    started = time.monotonic()
    status, headers, body = _response(sock, timeout=BODY_TIMEOUT + 10)
    waited = time.monotonic() - started
    assert status == 408, body
    assert BODY_TIMEOUT - 0.2 <= waited < BODY_TIMEOUT + 3
    assert headers["connection"] == "close"
    error = _assert_openai(body, "request_timeout")
    assert "1.5 seconds" in error["message"]
    sock.settimeout(5)
    assert sock.recv(1) == b""  # the worker closed the connection
    sock.close()


def test_bodies_in_flight_beyond_the_cap_get_503_at_once_and_the_bytes_come_back(worker):
    w, key, _door = worker
    holder = _open(w, 800 * 1024, key)
    holder.sendall(b'{"model": ')
    time.sleep(0.3)  # the worker has reserved the holder's declared 800 KiB
    started = time.monotonic()
    second = _open(w, 800 * 1024, key)
    status, headers, body = _response(second, timeout=10)
    assert time.monotonic() - started < BODY_TIMEOUT  # at once, not after a timeout
    assert status == 503, body
    assert headers["retry-after"] == "1"
    _assert_openai(body, "server_busy")
    second.close()
    holder.close()  # the client leaves: its reservation is given back
    time.sleep(0.3)
    payload = {"model": "local/text", "messages": [{"role": "user", "content": "x" * (800 * 1024)}]}
    ok = httpx.post(f"{w.url}/v1/chat/completions", json=payload, headers={"Authorization": f"Bearer {key}"},
                    trust_env=False, timeout=30)
    assert ok.status_code == 200, ok.text
