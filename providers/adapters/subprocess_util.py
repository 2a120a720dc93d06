"""Child processes for the subprocess provider types (``claude_cli``, ``acp``).

A small API shared by those adapters (how many children run at once is the
adapters' ``concurrency()``, applied by the gateway's one limiter, ``chat/limits.py``):

- ``child_env(config, key_var=...)``: the child's environment. It is built from a
  short allowlist of the gateway's own variables (``PATH``, ``HOME``, locale,
  proxies, ``TMPDIR``...), never the whole environment (which holds the gateway's
  own secrets), plus the provider's ``env`` setting and, when the provider has a
  key, the key under ``key_var``.
- ``check_program(config)``: the provider's settings against what the deployment
  allows (``providers.program_policy``: ``GATEWAY_ALLOWED_COMMANDS``,
  ``GATEWAY_ALLOW_AGENT_TOOLS``), again at run time, so a row saved under an older
  policy is refused: a 502 ``UpstreamError`` (code ``program_not_allowed``).
- ``spawn(argv, env=..., cwd=..., secrets=...)``: starts the child in its own
  process group with stdin/stdout/stderr pipes and returns a ``Child``. The
  command is resolved on the child's ``PATH`` and run by that absolute path only
  if ``GATEWAY_ALLOWED_COMMANDS`` allows it (else 502, ``program_not_allowed``).
  A missing or non-executable command becomes a 502 ``UpstreamError`` (code
  ``command_not_found``).
- ``Child``: ``write(data)``/``close_stdin()``, ``readline(deadline)`` (one line
  of stdout; raises a 504 ``UpstreamError`` once the monotonic ``deadline``
  passes), ``next_line(deadline)`` (the next line that is not blank),
  ``json_lines(deadline)`` (parsed JSON objects; blank lines skipped, anything
  else is a 502 ``upstream_invalid_response``), ``stderr_tail()`` (the
  last bytes of stderr, secrets masked), ``wait()``, and ``kill()``: SIGTERM to
  the whole process group, SIGKILL after a short grace, then reaped. Call
  ``kill()`` in a ``finally`` so a client disconnect (generator closed or task
  cancelled) or a timeout never leaves a child behind.

Secrets are passed only through the environment, never argv, and are masked in
anything read back from the child that might be logged or shown.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

from django.utils.translation import gettext as _

from .. import program_policy
from ..redact import mask
from .base import ProviderConfig, UpstreamError

log = logging.getLogger("gateway.subprocess")

# Variables a child may inherit from the gateway's environment.
INHERITED_ENV = (
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TERM",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME",
)
LINE_LIMIT = 32 * 1024 * 1024  # one JSON line may carry a whole answer
KILL_GRACE = 2.0
STDERR_TAIL = 4096


def child_env(config: ProviderConfig, *, key_var: str | None = None) -> dict[str, str]:
    env = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
    env.update(config.setting("env") or {})
    if key_var and config.api_key:
        env[key_var] = config.api_key
    return env


def _not_allowed(message: str, cause: str) -> UpstreamError:
    return UpstreamError(message, status=502, type="upstream_error", code="program_not_allowed", cause=cause)


def check_program(config: ProviderConfig) -> None:
    """Refuse to run a provider whose settings the deployment does not allow (any more)."""
    found = program_policy.problems(config.provider_type, config.settings)
    if found:
        key, message = sorted(found.items())[0]
        log.warning("provider=%s cause=setting %s not allowed by the deployment", config.name, key)
        raise _not_allowed(f"{key}: {message}", f"{key} not allowed")


def json_object(line: bytes) -> dict[str, Any] | None:
    """A line of a child's output parsed, if it is a JSON object; else None."""
    try:
        item = json.loads(line)
    except ValueError:
        return None
    return item if isinstance(item, dict) else None


class Child:
    """A running child process (see the module docstring)."""

    def __init__(self, proc: asyncio.subprocess.Process, argv0: str, secrets: tuple[str, ...]) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.argv0 = argv0
        self.secrets = secrets
        self._stderr: collections.deque[bytes] = collections.deque()
        self._stderr_size = 0
        self._stderr_task = asyncio.get_running_loop().create_task(self._drain_stderr())

    async def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        with contextlib.suppress(Exception):
            while True:
                data = await self.proc.stderr.read(4096)
                if not data:
                    return
                self._stderr.append(data)
                self._stderr_size += len(data)
                while self._stderr_size > STDERR_TAIL and len(self._stderr) > 1:
                    self._stderr_size -= len(self._stderr.popleft())

    def stderr_tail(self, limit: int = 500) -> str:
        text = b"".join(self._stderr).decode("utf-8", "replace")
        return mask(text, self.secrets).strip()[-limit:]

    async def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the child exited early; its exit status tells what happened
        except RuntimeError:
            # uvloop's form of the same: its pipe transport is already closed ("the handler
            # is closed") once the child has exited without reading its input.
            log.info("child %s pid=%s exited before reading its input", self.argv0, self.pid)

    def close_stdin(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()

    async def readline(self, deadline: float | None) -> bytes:
        """One line of stdout (b"" at EOF)."""
        assert self.proc.stdout is not None
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for loses a cancellation
            # (client disconnect) that arrives just as a line is read.
            async with asyncio.timeout(timeout):
                return await self.proc.stdout.readline()
        except TimeoutError:
            log.warning("child %s pid=%s timed out", self.argv0, self.pid)
            raise UpstreamError(
                _("The provider's program did not answer in time."), status=504, type="timeout_error",
                code="upstream_timeout", cause="subprocess timeout",
            ) from None
        except ValueError:  # a line longer than LINE_LIMIT
            raise UpstreamError(
                _("The provider's program printed a line that is too long."), status=502,
                code="upstream_invalid_response", cause="subprocess line too long",
            ) from None

    async def next_line(self, deadline: float | None) -> bytes:
        """The next line of stdout that is not blank, stripped (b"" at EOF)."""
        while line := await self.readline(deadline):
            if stripped := line.strip():
                return stripped
        return b""

    async def json_lines(self, deadline: float | None) -> AsyncIterator[dict[str, Any]]:
        while line := await self.next_line(deadline):
            item = json_object(line)
            if item is None:
                log.warning("child %s pid=%s printed output that is not JSON", self.argv0, self.pid)
                raise UpstreamError(
                    _("The provider's program printed output that is not JSON."), status=502,
                    code="upstream_invalid_response", cause="subprocess garbage output",
                )
            yield item

    async def wait(self, timeout: float | None = None) -> int:
        if timeout is None:
            return await self.proc.wait()
        return await asyncio.wait_for(self.proc.wait(), timeout)

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    async def kill(self) -> None:
        """Stop the child and everything it started; safe to call more than once."""
        try:
            if self.proc.returncode is None:
                self._signal_group(signal.SIGTERM)
                try:
                    await asyncio.wait_for(self.proc.wait(), KILL_GRACE)
                except TimeoutError:
                    self._signal_group(signal.SIGKILL)
                    await self.proc.wait()
            # Grandchildren may outlive the leader; the group id stays theirs.
            self._signal_group(signal.SIGKILL)
        except asyncio.CancelledError:
            self._signal_group(signal.SIGKILL)
            raise
        finally:
            self.close_stdin()
            if not self._stderr_task.done():
                self._stderr_task.cancel()


async def spawn(
    argv: list[str], *, env: dict[str, str], cwd: str | None = None, secrets: tuple[str, ...] = ()
) -> Child:
    path = env.get("PATH", os.defpath)
    if not program_policy.command_allowed(argv[0], path):
        log.warning("command %s refused: not in GATEWAY_ALLOWED_COMMANDS", argv[0])
        raise _not_allowed(program_policy.command_refused_message(argv[0]), "command not allowed")
    # Run the file that was checked, not whatever PATH finds a moment later.
    argv = [program_policy.resolve(argv[0], path) or argv[0], *argv[1:]]
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=cwd or None,
            start_new_session=True,  # its own process group, so kill() reaches grandchildren
            limit=LINE_LIMIT,
        )
    except FileNotFoundError as exc:
        missing_cwd = bool(cwd) and not os.path.isdir(cwd or "")  # noqa: ASYNC240 -- only after a failed start
        log.warning("command %s could not be started: %s", argv[0], "missing cwd" if missing_cwd else "not found")
        if missing_cwd:
            raise UpstreamError(
                _("The working directory configured for this provider does not exist."), status=502,
                code="cwd_not_found", cause="missing cwd",
            ) from exc
        raise UpstreamError(
            _("The program configured for this provider was not found: %(command)s") % {"command": argv[0]},
            status=502, code="command_not_found", cause="command not found",
        ) from exc
    except PermissionError as exc:
        log.warning("command %s could not be started: permission denied", argv[0])
        raise UpstreamError(
            _("The program configured for this provider cannot be run: %(command)s") % {"command": argv[0]},
            status=502, code="command_not_found", cause="command not executable",
        ) from exc
    log.info("started %s pid=%s", argv[0], proc.pid)
    return Child(proc, argv[0], secrets)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id still exists (and is not a zombie); for tests and checks."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
        return state != b"Z"
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return False

