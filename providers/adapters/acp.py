"""The Agent Client Protocol over stdio: the ``acp`` provider type.

Each request starts its own agent process (settings ``command``, ``args``,
``env``, ``cwd``), speaks JSON-RPC 2.0 to it as newline-delimited JSON
(``initialize``, ``session/new``, optionally a model switch, ``session/prompt``)
and relays its ``session/update`` notifications as chunks until the prompt's
result arrives. Per request, not pooled: an agent session carries state (its own
history, tools' side effects) that must not leak between clients; a fresh
``claude-agent-acp`` costs about 1 s (measured, see the README) next to a model
turn. The pool settings once accepted (``pool_size``, ``idle_timeout``) are
refused at save time. Message chunks the agent marks as its own notices
(``_meta.claudeCode.kind: "informational"``) are left out of the answer and logged.

When the client goes away, the agent gets ``session/cancel``, a moment to stop,
then its process group is killed. ``timeout`` bounds the whole request. The
agent's permission requests follow ``permission_policy`` (``deny`` by default).
Without a ``cwd`` setting each agent works in a fresh temporary directory,
removed afterwards. The provider's key, when set, reaches the child as
``ANTHROPIC_API_KEY``.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from ..redact import mask, secret_values
from . import acp_translate as tr
from .base import DONE_FRAME, Adapter, Frames, ModelListing, ProviderConfig, UpstreamError
from .chat_chunks import ChunkMaker, ChunkSource, completion_from_chunks, frame, wants_usage
from .subprocess_util import Child, check_program, child_env, json_object, spawn

log = logging.getLogger("gateway.subprocess")

PROTOCOL_VERSION = 1
CANCEL_GRACE = 1.0  # seconds an agent gets to answer session/cancel before it is killed
DEFAULT_CONCURRENCY = 4
QUEUE_WAIT = 10.0  # seconds one more request waits for a free agent slot, then 429


class AgentSession:
    """One agent process and the JSON-RPC conversation with it."""

    def __init__(self, child: Child, *, deadline: float, policy: str, secrets: tuple[str, ...]) -> None:
        self.child = child
        self.deadline = deadline
        self.policy = policy
        self.secrets = secrets
        self._next_id = 0

    async def send(self, message: dict[str, Any]) -> None:
        data = json.dumps({"jsonrpc": "2.0", **message}, ensure_ascii=False).encode() + b"\n"
        try:
            # An agent that stops reading its stdin must not hold us past the deadline.
            async with asyncio.timeout(max(0.0, self.deadline - time.monotonic())):
                await self.child.write(data)
        except TimeoutError:
            log.warning("agent pid=%s stopped reading its input", self.child.pid)
            raise UpstreamError(
                _("The provider's program did not answer in time."), status=504, type="timeout_error",
                code="upstream_timeout", cause="subprocess timeout",
            ) from None

    async def request(self, method: str, params: dict[str, Any]) -> int:
        self._next_id += 1
        await self.send({"id": self._next_id, "method": method, "params": params})
        return self._next_id

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        await self.send({"method": method, "params": params})

    async def messages(self) -> AsyncIterator[dict[str, Any]]:
        """Notifications and responses from the agent; its requests are answered here."""
        while True:
            message = await self._read()
            method = message.get("method")
            if isinstance(method, str) and "id" in message:
                await self._answer(message)
            else:
                yield message

    async def _read(self) -> dict[str, Any]:
        """The next JSON-RPC message. Reads line by line (no generator kept across
        calls), so a cancelled read leaves the session usable for session/cancel."""
        line = await self.child.next_line(self.deadline)
        if not line:
            raise await self.exited()
        message = json_object(line)
        if message is None:
            log.warning("agent pid=%s printed output that is not JSON-RPC", self.child.pid)
            raise UpstreamError(
                _("The agent printed output that is not JSON-RPC."), status=502,
                code="upstream_invalid_response", cause="agent garbage output",
            )
        return message

    async def _answer(self, message: dict[str, Any]) -> None:
        method = message["method"]
        if method == "session/request_permission":
            result = tr.permission_outcome(message.get("params"), self.policy)
            log.info("agent pid=%s asked permission; policy=%s outcome=%s", self.child.pid, self.policy,
                     result["outcome"]["outcome"])
            await self.send({"id": message["id"], "result": result})
        else:
            # fs/* and terminal/* are not offered in clientCapabilities.
            await self.send({"id": message["id"], "error": {"code": -32601, "message": f"Method not found: {method}"}})

    async def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send a request and wait for its result (notifications meanwhile are dropped)."""
        request_id = await self.request(method, params)
        async for message in self.messages():
            if message.get("id") == request_id:
                return self.result_of(message, method)
        raise AssertionError("unreachable")

    def result_of(self, message: dict[str, Any], method: str) -> dict[str, Any]:
        error = message.get("error")
        if error is not None:
            text = error.get("message") if isinstance(error, dict) else str(error)
            log.warning("agent pid=%s answered %s with an error", self.child.pid, method)
            raise UpstreamError(
                _("The agent reported an error: %(message)s") % {"message": mask(str(text or ""), self.secrets)[:500]},
                status=502, code="agent_error", cause=f"agent error on {method}",
            )
        result = message.get("result")
        return result if isinstance(result, dict) else {}

    async def exited(self) -> UpstreamError:
        try:
            code = await self.child.wait(timeout=2.0)
        except TimeoutError:
            code = None
        tail = self.child.stderr_tail(300)
        log.warning("agent pid=%s closed its output (exit code %s)", self.child.pid, code)
        message = _("The agent exited unexpectedly (exit code %(code)s).") % {"code": code}
        if tail:
            message = _("The agent exited unexpectedly (exit code %(code)s): %(stderr)s") % {
                "code": code, "stderr": tail}
        return UpstreamError(message, status=502, code="agent_exited", cause=f"agent exited: {code}")


class AcpAdapter(Adapter):
    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)

    async def list_models(self) -> ModelListing:
        listing = self.configured_models()
        if not listing.models:
            # The agent's own default model, chosen by the agent.
            listing.models = [{"id": "default", "object": "model", "created": self.config.created,
                               "owned_by": self.config.name}]
        return listing

    async def _turn(self, body: dict[str, Any], *, include_usage: bool) -> ChunkSource:
        """Run one prompt turn in a fresh agent; yield lists of chunk dicts as updates arrive."""
        config = self.config
        check_program(config)
        timeout = float(config.setting("timeout") or settings.GATEWAY_READ_TIMEOUT)
        deadline = time.monotonic() + timeout
        argv = [config.setting("command") or "", *(config.setting("args") or [])]
        if not argv[0]:
            raise UpstreamError(_("This provider has no agent command configured."), status=502,
                                code="command_not_found", cause="no command")
        secrets = tuple(secret_values(config))
        workdir = config.setting("cwd")
        tempdir = None if workdir else tempfile.mkdtemp(prefix="gateway-acp-")
        workdir = os.path.abspath(str(workdir or tempdir))  # ACP wants an absolute path  # noqa: ASYNC240
        child: Child | None = None
        session_id: str | None = None
        prompt_id: int | None = None
        finished = False
        agent: AgentSession | None = None
        try:
            child = await spawn(argv, env=child_env(config, key_var="ANTHROPIC_API_KEY"), cwd=workdir, secrets=secrets)
            agent = AgentSession(child, deadline=deadline, policy=config.setting("permission_policy") or "deny",
                                 secrets=secrets)
            init = await agent.call("initialize", {
                "protocolVersion": PROTOCOL_VERSION,
                "clientCapabilities": {"fs": {"readTextFile": False, "writeTextFile": False}, "terminal": False},
                "clientInfo": {"name": "llm-gateway", "version": "1"},
            })
            caps = (init.get("agentCapabilities") or {}).get("promptCapabilities") or {}
            session = await agent.call("session/new", {"cwd": workdir, "mcpServers": []})
            session_id = session.get("sessionId")
            if not isinstance(session_id, str):
                raise UpstreamError(_("The agent did not start a session."), status=502, code="agent_error",
                                    cause="no sessionId")
            model = body.get("model") or ""
            switch = tr.model_selection(session, model)
            if switch is not None:
                await agent.call(*switch)
            prompt = tr.render_prompt(body.get("messages") or [], images=bool(caps.get("image")))
            maker = ChunkMaker(model or "default")
            role_sent = False
            prompt_id = await agent.request("session/prompt", {"sessionId": session_id, "prompt": prompt})
            async for message in agent.messages():
                if message.get("method") == "session/update":
                    params = message.get("params") or {}
                    update = params.get("update")
                    delta = tr.update_delta(update)
                    if delta is None:
                        if isinstance(update, dict) and tr.informational(update):
                            log.info("agent pid=%s sent a notice, left out of the answer", child.pid)
                        continue
                    out = []
                    if not role_sent:
                        # OpenAI's shapes: the role comes in its own chunk before
                        # text, and together with the first reasoning delta.
                        role_sent = True
                        if "content" in delta:
                            out.append(maker.chunk({"role": "assistant", "content": ""}))
                        else:
                            delta = {"role": "assistant", "content": "", **delta}
                    if any(delta.values()):
                        out.append(maker.chunk(delta))
                    if out:
                        yield out
                elif message.get("id") == prompt_id:
                    result = agent.result_of(message, "session/prompt")
                    finished = True
                    chunks = []
                    if not role_sent:
                        chunks.append(maker.chunk({"role": "assistant", "content": ""}))
                    chunks.append(maker.chunk({}, tr.finish_reason(result.get("stopReason"))))
                    usage = tr.to_chat_usage(result.get("usage"))
                    if include_usage and usage is not None:
                        chunks.append(maker.usage_chunk(usage))
                    yield chunks
                    return
        except (GeneratorExit, asyncio.CancelledError):
            # The client went away mid-turn: ask the agent to stop before killing it.
            if agent is not None and prompt_id is not None and not finished and session_id:
                await self._cancel(agent, session_id, prompt_id)
            raise
        finally:
            if child is not None:
                await child.kill()
            if tempdir:
                shutil.rmtree(tempdir, ignore_errors=True)

    @staticmethod
    async def _cancel(agent: AgentSession, session_id: str, prompt_id: int) -> None:
        """Ask the agent to stop the turn, and give it a moment to wind down."""
        with contextlib.suppress(Exception):
            await agent.notify("session/cancel", {"sessionId": session_id})

            async def settle() -> None:
                async for message in agent.messages():
                    if message.get("id") == prompt_id:
                        return

            async with asyncio.timeout(CANCEL_GRACE):
                await settle()

    def concurrency(self) -> tuple[int | None, float]:
        """``max_concurrency`` agents (default 4); one more waits up to 10 s for a slot."""
        return int(self.config.setting("max_concurrency") or DEFAULT_CONCURRENCY), QUEUE_WAIT

    async def stream(self, body: dict[str, Any]) -> Frames:
        turn = self._turn(body, include_usage=wants_usage(body))
        try:
            async for chunks in turn:
                yield b"".join(frame(c) for c in chunks)
            yield DONE_FRAME
        finally:
            await turn.aclose()

    async def complete(self, body: dict[str, Any]) -> bytes:
        return await completion_from_chunks(self._turn(body, include_usage=True))
