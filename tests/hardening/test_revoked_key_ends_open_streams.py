"""A gateway key revoked while it has a stream open stops working on that stream
too, within a documented bound: the relay looks (at most once a second, on the
next frame) whether the key is still in the routing table, which every process
refreshes within ``GATEWAY_CONFIG_REFRESH_SECONDS``. The stream then ends with a
final OpenAI-shaped ``data: {"error": ...}`` event (``code: key_revoked``).

Two real workers on one database: the key is revoked through worker B's staff
API while worker A relays a live stream (one chunk every 0.1 s for a minute).
Before, the stream went on to its end (6.5 s and more after the revocation)."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.metered_upstream import MeteredUpstream
from tests.hardening.workers import Deployment

REFRESH = 1.0
KEY_CHECK = 1.0  # chat.gateway.KEY_CHECK_SECONDS
MARGIN = 1.0
BOUND = REFRESH + KEY_CHECK + MARGIN


@pytest.fixture(scope="module")
def trickle() -> Iterator[MeteredUpstream]:
    server = MeteredUpstream(tick=0.1, stream_seconds=60).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, trickle) -> Iterator[tuple[Deployment, str]]:
    dep = Deployment(tmp_path_factory.mktemp("revoke"), {"GATEWAY_CONFIG_REFRESH_SECONDS": str(REFRESH)})
    token = dep.shell(
        "from django.contrib.auth import get_user_model\n"
        "from rest_framework.authtoken.models import Token\n"
        "from providers import services\n"
        f"services.provider_create(name='trickle', provider_type='custom', base_url='{trickle.base_url}')\n"
        "u = get_user_model().objects.create_superuser('ops', 'ops@example.com', None)\n"
        "print(Token.objects.create(user=u).key)"
    )
    try:
        yield dep, token
    finally:
        dep.stop()


@pytest.mark.parametrize("door", ["fast-path", "django-path"])
def test_a_key_revoked_in_another_process_ends_its_open_stream_within_the_refresh_bound(deployment, door):
    dep, token = deployment
    streamer = dep.start(GATEWAY_ASGI_FAST_PATH="1" if door == "fast-path" else "0")
    admin = dep.start()
    try:
        staff = {"Authorization": f"Token {token}"}
        made = httpx.post(f"{admin.url}/api/gateway-keys/", json={"name": f"revoked-{door}"}, headers=staff,
                          trust_env=False)
        assert made.status_code == 201, made.text
        key_id, key = made.json()["id"], made.json()["key"]
        body = {"model": "trickle/any", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        events: list[str] = []
        revoked_at = ended_at = None
        with httpx.Client(timeout=30, trust_env=False) as client:
            # Worker A learns the new key on its first use (a fresh lookup for unknown keys).
            with client.stream("POST", f"{streamer.url}/v1/chat/completions", json=body,
                               headers={"Authorization": f"Bearer {key}"}) as resp:
                assert resp.status_code == 200
                for line in resp.iter_lines():
                    if not line.startswith("data: "):
                        continue
                    events.append(line[len("data: "):])
                    if len(events) == 5:
                        revoked_at = time.monotonic()
                        done = client.post(f"{admin.url}/api/gateway-keys/{key_id}/revoke/", headers=staff)
                        assert done.status_code == 200, done.text
                    if revoked_at is not None and time.monotonic() - revoked_at > BOUND + 10:
                        break  # still streaming long after: the assertion below says so
                ended_at = time.monotonic()
        assert revoked_at is not None and ended_at is not None
        assert ended_at - revoked_at <= BOUND, f"the stream went on {ended_at - revoked_at:.1f}s after revocation"
        last = json.loads(events[-1])
        assert last == {"error": {"message": last["error"]["message"], "type": "invalid_request_error",
                                  "param": None, "code": "key_revoked"}}
        assert "revoked" in last["error"]["message"]
        # And the key is refused for new requests on the worker that streamed.
        again = httpx.post(f"{streamer.url}/v1/chat/completions", json={**body, "stream": False},
                           headers={"Authorization": f"Bearer {key}"}, trust_env=False)
        assert again.status_code == 401
    finally:
        for worker in (streamer, admin):
            worker.stop()
            dep.workers.remove(worker)
