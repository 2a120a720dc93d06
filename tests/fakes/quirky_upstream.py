"""An OpenAI-compatible server on 127.0.0.1 with the quirks real backends have,
each one switchable, for the capability probe and the playground tests:

- ``reject_stream_options``: 400 when a request carries ``stream_options``;
- ``tool_index``: when False, streamed tool calls come without ``index``;
- ``reasoning_field``: ``"reasoning_content"``, ``"reasoning"`` or None;
- ``require_max_completion_tokens``: 400 on ``max_tokens`` (as OpenAI's o-series);
- ``models_error``: ``(status, JSON body)`` answered at ``/models`` (LiteLLM's
  400 "No connected db." when its database is down);
- ``api_key``: when set, 401 unless ``Authorization: Bearer <api_key>``;
- ``piece_delay``: seconds between streamed pieces (the playground watches text grow).

Any request with ``tools`` is answered with a streamed ``get_time`` call. The
model ``slow-text`` streams ``pieces`` one by one.

``StallServer`` accepts TCP connections and never answers (for timeouts).
"""
from __future__ import annotations

import asyncio
import json
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import AppFake

CREATED = 1_700_000_000


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-quirky",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


@dataclass
class QuirkyUpstream(AppFake):
    host: str = "127.0.0.1"
    port: int = 0
    reject_stream_options: bool = False
    tool_index: bool = True
    reasoning_field: str | None = "reasoning_content"
    reasoning_text: str = "Thinking briefly."
    require_max_completion_tokens: bool = False
    api_key: str | None = None
    models_error: tuple[int, Any] | None = None
    piece_delay: float = 0.005
    pieces: list[str] = field(default_factory=lambda: ["Hello", " from", " the", " quirky", " fake", "."])
    model_ids: list[str] = field(default_factory=lambda: ["qwen3-8b", "slow-text", "llama-3.1-8b"])
    requests: list[dict[str, Any]] = field(default_factory=list)
    ssl_context: Any = None  # serve HTTPS with this context (see ``self_signed_context``)
    thread_name = "quirky-upstream"
    handler_cancellation = False

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.port}/v1"

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        if self.api_key and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response({"error": {"message": "Invalid API key", "type": "auth_error"}}, status=401)
        return None

    async def models(self, request: web.Request) -> web.StreamResponse:
        denied = self._unauthorized(request)
        if denied is not None:
            return denied
        if self.models_error is not None:
            return web.json_response(self.models_error[1], status=self.models_error[0])
        return web.json_response({"object": "list", "data": [
            {"id": m, "object": "model", "created": CREATED, "owned_by": "quirky"} for m in self.model_ids
        ]})

    async def chat(self, request: web.Request) -> web.StreamResponse:
        denied = self._unauthorized(request)
        if denied is not None:
            return denied
        body = await request.json()
        self.requests.append(body)
        model = body.get("model", "")
        if self.reject_stream_options and "stream_options" in body:
            return web.json_response({"error": {"message": "Unrecognized request argument supplied: stream_options",
                                                "type": "invalid_request_error"}}, status=400)
        if self.require_max_completion_tokens and "max_tokens" in body:
            return web.json_response({"error": {
                "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
                           "Use 'max_completion_tokens' instead.",
                "type": "invalid_request_error", "param": "max_tokens"}}, status=400)
        if not body.get("stream"):
            return web.json_response({
                "id": "chatcmpl-quirky", "object": "chat.completion", "created": CREATED, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(self.pieces)},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": len(self.pieces), "total_tokens": 5 + len(self.pieces)},
            })
        events: list[dict[str, Any]] = []
        if body.get("tools"):
            call: dict[str, Any] = {"id": "call_1", "type": "function", "function": {"name": "get_time", "arguments": ""}}
            more: dict[str, Any] = {"function": {"arguments": "{\"city\": \"Hanoi\"}"}}
            if self.tool_index:
                call["index"] = 0
                more["index"] = 0
            events += [_chunk(model, {"role": "assistant", "tool_calls": [call]}),
                       _chunk(model, {"tool_calls": [more]}), _chunk(model, {}, "tool_calls")]
        else:
            events.append(_chunk(model, {"role": "assistant", "content": ""}))
            if self.reasoning_field:
                events.append(_chunk(model, {self.reasoning_field: self.reasoning_text}))
            events += [_chunk(model, {"content": piece}) for piece in self.pieces]
            events.append(_chunk(model, {}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({"id": "chatcmpl-quirky", "object": "chat.completion.chunk", "created": CREATED,
                           "model": model, "choices": [],
                           "usage": {"prompt_tokens": 5, "completion_tokens": len(self.pieces),
                                     "total_tokens": 5 + len(self.pieces)}})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        delay = self.piece_delay if model == "slow-text" else 0.002
        for event in events:
            await resp.write(b"data: " + json.dumps(event).encode() + b"\n\n")
            await asyncio.sleep(delay)
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/models", self.models)
        app.router.add_post("/v1/chat/completions", self.chat)
        return app


class StallServer:
    """Accepts connections and reads, but never sends a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._stop = False
        self.thread = threading.Thread(target=self._run, name="stall-server", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _run(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)

    def start(self) -> StallServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop = True
        self.thread.join(5)
        for conn in self.conns:
            conn.close()
        self.sock.close()


def self_signed_context(directory: Any) -> tuple[Any, str]:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1,
    and the path of that certificate (to trust it as a CA bundle)."""
    import datetime
    import ipaddress
    import ssl
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = Path(directory) / "cert.pem"
    key_path = Path(directory) / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert_path), str(key_path))
    return context, str(cert_path)
