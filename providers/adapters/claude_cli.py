"""The Claude Code CLI as a subprocess (``claude_cli`` provider type).

Each request runs::

    <command> -p --output-format stream-json --verbose --include-partial-messages
              --no-session-persistence --model=<model> [--system-prompt=<system>]
              [--tools ""] <args...>

with the conversation on stdin (see ``claude_cli_translate.render_prompt``) and
turns the JSON lines it prints into OpenAI chunks as they arrive.

- The client's system and developer messages replace the CLI's default system
  prompt (``--system-prompt``; very long ones go through ``--system-prompt-file``).
  Without them the CLI keeps its own.
- The CLI's built-in tools are off (``--tools ""``): a chat completion should not
  run commands or read files on the gateway host. Put ``--tools`` in ``args`` to
  choose tools yourself. Client ``tools`` are not offered to the model.
- Environment: a short allowlist of the gateway's variables (no gateway secrets),
  ``DISABLE_AUTOUPDATER=1``, the settings' ``env`` (e.g. ``ANTHROPIC_BASE_URL``),
  and the provider's key as ``ANTHROPIC_API_KEY``. The key never goes into argv
  or logs, and is masked in anything read back from the child.
- ``cwd``: the setting (only where ``GATEWAY_ALLOW_AGENT_TOOLS`` allows one), or
  else a fresh empty directory per request, removed afterwards: no project
  ``CLAUDE.md`` is picked up, and no client sees files another client's run left.
- Only programs, arguments and variables the deployment allows run
  (``providers.program_policy``), checked again before each run.
- ``timeout`` (default 600 s) bounds the whole run; then the child is killed and
  the client gets a 504 (or a final error event mid-stream). A client disconnect
  kills the child (its whole process group) at once.
- ``max_concurrency`` (default 4) children run at once per provider; a request
  beyond that waits up to 10 s for a slot, then gets a 429 with ``Retry-After``
  (``concurrency()``, applied by the gateway's one limiter in ``chat/limits.py``).
- Models: the configured list (default ``sonnet``, ``opus``, ``haiku``).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from typing import Any

from django.utils.translation import gettext as _

from ..redact import mask, secret_values
from .anthropic_translate import StreamError
from .base import Adapter, Frames, UpstreamError
from .chat_chunks import ChunkSource, completion_from_chunks, sse_from_chunks, wants_usage
from .claude_cli_translate import CliError, CliTranslator, render_prompt
from .content import TranslationError
from .subprocess_util import Child, check_program, child_env, spawn

log = logging.getLogger("gateway.subprocess")

DEFAULT_TIMEOUT = 600.0
DEFAULT_CONCURRENCY = 4
QUEUE_WAIT = 10.0
ARGV_PROMPT_LIMIT = 64 * 1024  # longer system prompts go through a file (argv strings are capped at 128 KiB)

_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
          404: "not_found_error", 413: "invalid_request_error", 429: "rate_limit_error"}

class ClaudeCliAdapter(Adapter):
    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.timeout = float(config.setting("timeout") or DEFAULT_TIMEOUT)
        self.secrets = tuple(secret_values(config))

    def argv(self, model: str, system: str | None, system_file: str | None) -> list[str]:
        args = list(self.config.setting("args") or [])
        # ``--opt=value`` so that a value starting with "-" can never be read as an option.
        argv = [str(self.config.setting("command") or "claude"), "-p", "--output-format", "stream-json", "--verbose",
                "--include-partial-messages", "--no-session-persistence", f"--model={model}"]
        if system_file:
            argv.append(f"--system-prompt-file={system_file}")
        elif system:
            argv.append(f"--system-prompt={system}")
        if not any(a.split("=", 1)[0] in ("--tools", "--allowedTools", "--allowed-tools") for a in args):
            argv += ["--tools", ""]
        return argv + args

    def env(self) -> dict[str, str]:
        env = {"DISABLE_AUTOUPDATER": "1"}
        env.update(child_env(self.config, key_var="ANTHROPIC_API_KEY"))
        return env

    async def chunks(self, body: dict[str, Any], *, include_usage: bool) -> ChunkSource:
        """Run the CLI for one request; yield lists of chunk dicts as its lines arrive."""
        model = str(body.get("model") or "")
        try:
            system, prompt = render_prompt(body.get("messages") or [])
        except TranslationError as exc:
            raise UpstreamError(exc.message, status=400, type="invalid_request_error", code="invalid_request",
                                param=exc.param, cause="untranslatable request") from None
        check_program(self.config)
        deadline = time.monotonic() + self.timeout
        system_file = None
        workdir = self.config.setting("cwd")
        tempdir = None if workdir else tempfile.mkdtemp(prefix="gateway-claude-cli-")
        if system and len(system.encode()) > ARGV_PROMPT_LIMIT:
            fd, system_file = tempfile.mkstemp(prefix="gateway-system-", suffix=".txt")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(system)
        try:
            child = await spawn(self.argv(model, system, system_file), env=self.env(),
                                cwd=workdir or tempdir, secrets=self.secrets)
            try:
                async for item in self._run(child, model, prompt, deadline, include_usage):
                    yield item
            finally:
                await child.kill()
        finally:
            if system_file:
                with contextlib.suppress(OSError):
                    os.unlink(system_file)
            if tempdir:
                shutil.rmtree(tempdir, ignore_errors=True)

    async def _run(self, child: Child, model: str, prompt: str, deadline: float,
                   include_usage: bool) -> AsyncIterator[list[dict[str, Any]]]:
        try:
            await asyncio.wait_for(child.write(prompt.encode()), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise self._timeout() from None
        child.close_stdin()
        translator = CliTranslator(model, include_usage=include_usage, created=int(time.time()))
        async for line in child.json_lines(deadline):
            try:
                chunks = translator.feed(line)
            except CliError as exc:
                raise self._cli_error(exc) from None
            except StreamError as exc:
                raise self._cli_error(CliError(exc.message, None)) from None
            if chunks:
                yield chunks
            if translator.done:
                return
        try:
            code = await child.wait(max(0.1, min(5.0, deadline - time.monotonic())))
        except TimeoutError:
            raise self._timeout() from None
        detail = child.stderr_tail(300).splitlines()[-1:] or [""]
        log.warning("provider=%s cause=claude exited with %s before a result", self.config.name, code)
        if code and code > 0:
            message = _("The Claude Code CLI failed (exit status %(status)s).") % {"status": code}
        elif code and code < 0:
            message = _("The Claude Code CLI was killed by signal %(signal)s.") % {"signal": -code}
        else:
            message = _("The Claude Code CLI ended without a result.")
        if detail[0]:
            message = f"{message} {detail[0]}"
        raise UpstreamError(message, status=502, type="upstream_error", code="upstream_process_failed",
                            cause=f"claude exit {code}")

    def _timeout(self) -> UpstreamError:
        log.warning("provider=%s cause=claude timed out", self.config.name)
        return UpstreamError(_("The Claude Code CLI did not answer in time."), status=504, type="timeout_error",
                             code="upstream_timeout", cause="subprocess timeout")

    def _cli_error(self, exc: CliError) -> UpstreamError:
        status = exc.upstream_status
        message = mask(exc.message, self.secrets)[:1000]
        log.warning("provider=%s cause=claude reported an error (status %s)", self.config.name, status)
        if status is not None and 400 <= status < 500:
            return UpstreamError(message, status=status, type=_TYPES.get(status, "invalid_request_error"),
                                 code=f"upstream_{status}", cause=f"claude api error {status}",
                                 retryable=status == 429)
        return UpstreamError(message, status=502, type="upstream_error", code="upstream_error",
                             cause=f"claude error {status}", retryable=status is not None)

    def concurrency(self) -> tuple[int | None, float]:
        """``max_concurrency`` children (default 4); one more waits up to 10 s (within the timeout)."""
        return int(self.config.setting("max_concurrency") or DEFAULT_CONCURRENCY), min(QUEUE_WAIT, self.timeout)

    def stream(self, body: dict[str, Any]) -> Frames:
        return sse_from_chunks(self.chunks(body, include_usage=wants_usage(body)))

    async def complete(self, body: dict[str, Any]) -> bytes:
        return await completion_from_chunks(self.chunks(body, include_usage=True))
