"""What the contract tests of the translating provider types (``anthropic``,
``codex``, ``acp``, ``claude_cli``) share: an SDK client for the live gateway,
one-line requests, the scripted ACP agent, and Django's own ASGI handler under
uvicorn (``Server``). Their fixtures are in ``conftest.py``."""
from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import free_port, wait_until

HI = [{"role": "user", "content": "hi"}]
WAIT_SECONDS = 10.0  # a bound on the wait, not a speed claim
SCRIPTED_ACP_AGENT = str(Path(__file__).resolve().parents[2] / "fakes" / "scripted_acp_agent.py")


def sdk_client(gateway: Any, key: str, *, timeout: float) -> openai.OpenAI:
    """The official OpenAI SDK talking to the live gateway, without retries."""
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0, timeout=timeout)


def ask(client: openai.OpenAI, model: str, *, stream: bool = False) -> Any:
    """Send "hi" to ``model``; a stream is read to its end (a list of chunks)."""
    result = client.chat.completions.create(model=model, messages=HI, stream=stream)
    return list(result) if stream else result


def chunks_before_error(client: openai.OpenAI, model: str) -> tuple[list[Any], openai.APIError]:
    """Stream "hi" from ``model``, which must fail mid-stream: the chunks that came
    before the failure, and the error the SDK raised for it."""
    stream = client.chat.completions.create(model=model, messages=HI, stream=True)
    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            received.append(chunk)
    return received, caught.value


def text_of(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def chat_over_http(gateway: Any, key: str, model: str, *, stream: bool, usage: bool = False,
                   timeout: float = 20) -> tuple[str, Any]:
    """(content type, answer) of "hi" to ``model`` over plain HTTP: the JSON
    completion, or the chunks of a stream (checked to be ``data:`` events ending
    with ``[DONE]``)."""
    body: dict[str, Any] = {"model": model, "stream": stream, "messages": HI}
    if usage:
        body["stream_options"] = {"include_usage": True}
    resp = httpx.post(gateway.url + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"},
                      timeout=timeout)
    assert resp.status_code == 200, resp.text
    if not stream:
        return resp.headers["content-type"], resp.json()
    frames = [f for f in resp.text.split("\n\n") if f]
    assert all(f.startswith("data: ") for f in frames)
    assert frames[-1] == "data: [DONE]"
    return resp.headers["content-type"], [json.loads(f[6:]) for f in frames[:-1]]


def as_requested(value: Any, model: str) -> Any:
    """``value`` (an answer, a chunk or a list of them) with every ``model`` member set
    to ``model``: answers carry the id the client used, not the upstream's name."""
    if isinstance(value, list):
        return [as_requested(v, model) for v in value]
    if isinstance(value, dict):
        return {k: (model if k == "model" else as_requested(v, model)) for k, v in value.items()}
    return value


class Server:
    """Django's own ASGI handler (not the raw fast path of ``chat.fastpath``) under uvicorn."""

    def __init__(self, http: str) -> None:
        import uvicorn

        from gateway.asgi import django_application

        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                django_application, host="127.0.0.1", port=self.port, http=http, lifespan="off", log_level="warning"
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.server.started
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def open_stream(port: int, key: str, model: str) -> socket.socket:
    body = json.dumps({"model": model, "stream": True, "messages": [{"role": "user", "content": "hi"}]}).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    return sock


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def wait_for(predicate: Callable[[], object], timeout: float = WAIT_SECONDS) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` runs out; whether it held."""
    return wait_until(predicate, timeout)
