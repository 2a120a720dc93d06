"""A session-wide secret scanner, as a pytest plugin.

Registered in the root ``conftest.py`` (``pytest_plugins = ["tests.secret_scan"]``)
or with ``-p tests.secret_scan``. For the whole test session it:

- **learns every secret** the suite uses: provider API keys, secret-looking
  extra headers, and every query parameter and subprocess environment value (a
  ``pre_save`` receiver on ``Provider``, so the admin, the API, the import
  command and the services are all covered) and every raw gateway key
  (``services.gateway_key_create`` is wrapped wherever it is referenced);
- **sees every output**: log records of every logger at DEBUG (and the error
  report Django would mail for records that carry a request and a traceback),
  every response of Django's handler (test client, live servers, admin pages,
  API, exports; streaming bodies too), every body and header the gateway's ASGI
  application sends (the /v1 fast path), everything management commands write,
  every configuration export (``config_io.dump``) and every mail in
  ``mail.outbox``;
- **fails the session** with a report if any output contains any secret.

Two exceptions are by design: a new gateway key is shown once, in the response
(or command output) of the request that created it; and a secret the client
itself put in the request's URL (a search for a key) may be echoed in that
response. Nothing else may contain a secret.

Each output is checked when it is produced, against one compiled pattern of
all secrets known so far, so the cost stays small (secrets are always created
before they are used).
"""
from __future__ import annotations

import contextvars
import logging
import re
import sys
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

import pytest

MIN_SECRET_LENGTH = 8
SECRET_HEADER = re.compile(r"auth|key|token|secret|cookie|signature|password|credential", re.I)
# Environment variables that name a model or an endpoint (ANTHROPIC_MODEL=...): the gateway
# relays model names in its answers by design, so these values are not scanned for.
PUBLIC_ENV = re.compile(r"(_MODEL|_URL)$", re.I)

# The secrets created within the current request or command (shown there once, by design).
_scope: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("secret_scan_scope", default=None)


@dataclass
class Finding:
    where: str
    secret: str
    context: str

    def describe(self) -> str:
        masked = self.secret[:4] + "…" + f"({len(self.secret)} chars)"
        return f"{self.where}: contains {masked}: …{self.context}…"


@dataclass
class Collector:
    secrets: dict[str, str] = field(default_factory=dict)  # secret -> kind
    findings: list[Finding] = field(default_factory=list)
    scanned: int = 0
    scanned_bytes: int = 0
    _pattern: re.Pattern[str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, secret: Any, kind: str) -> None:
        if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            if secret in self.secrets:
                return
            self.secrets[secret] = kind
            ordered = sorted(self.secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
        scope = _scope.get()
        if scope is not None and kind == "gateway key":
            scope.add(secret)

    def scan(self, text: Any, where: str, allowed: set[str] | frozenset[str] = frozenset()) -> None:
        if text is None:
            return
        if isinstance(text, (bytes, bytearray, memoryview)):
            text = bytes(text).decode("utf-8", "replace")
        elif not isinstance(text, str):
            text = str(text)
        self.scanned += 1
        self.scanned_bytes += len(text)
        pattern = self._pattern
        if pattern is None or not text:
            return
        for match in pattern.finditer(text):
            secret = match.group(0)
            if secret in allowed:
                continue
            start, end = match.span()
            context = (text[max(0, start - 60):start] + "<SECRET>" + text[end:end + 60]).replace("\n", "\\n")
            self.findings.append(Finding(where, secret, context))


COLLECTOR = Collector()


# Learning secrets --------------------------------------------------------------------


def _provider_pre_save(sender: Any, instance: Any, **kwargs: Any) -> None:
    COLLECTOR.add(getattr(instance, "api_key", None), "provider key")
    headers = getattr(instance, "extra_headers", None)
    if isinstance(headers, dict):
        for name, value in headers.items():
            if isinstance(name, str) and SECRET_HEADER.search(name):
                COLLECTOR.add(value, "provider header")
                if isinstance(value, str) and " " in value:  # "Bearer <token>": the token alone too
                    COLLECTOR.add(value.rsplit(" ", 1)[-1], "provider header")
    # Query parameters (some vendors take the key as ?key=...) and a program's environment:
    # every value is a secret, wherever the provider keeps it (bar PUBLIC_ENV names).
    for holder in (getattr(instance, "settings", None), getattr(instance, "secret_settings", None)):
        for group in ("extra_query", "env"):
            values = holder.get(group) if isinstance(holder, dict) else None
            if isinstance(values, dict):
                for name, value in values.items():
                    if not (group == "env" and isinstance(name, str) and PUBLIC_ENV.search(name)):
                        COLLECTOR.add(value, f"provider {group} value")


def _replace_everywhere(original: Any, replacement: Any) -> None:
    """Point every module-level reference to ``original`` at ``replacement``."""
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for name, value in list(namespace.items()):
            if value is original:
                setattr(module, name, replacement)


def _wrap_export() -> None:
    try:
        from providers.onboarding import config_io
    except Exception:
        return
    original = getattr(config_io, "dump", None)
    if original is None or getattr(original, "_secret_scan", False):
        return

    def dump(*args: Any, **kwargs: Any) -> Any:
        text = original(*args, **kwargs)
        COLLECTOR.scan(text, "export (config_io.dump)")
        return text

    dump._secret_scan = True  # type: ignore[attr-defined]
    dump.__wrapped__ = original  # type: ignore[attr-defined]
    _replace_everywhere(original, dump)


def _wrap_gateway_key_create() -> None:
    from providers import services

    original = services.gateway_key_create
    if getattr(original, "_secret_scan", False):
        return

    def gateway_key_create(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        try:
            COLLECTOR.add(result[1], "gateway key")
        except (TypeError, IndexError):
            pass
        return result

    gateway_key_create._secret_scan = True  # type: ignore[attr-defined]
    gateway_key_create.__wrapped__ = original  # type: ignore[attr-defined]
    gateway_key_create.__doc__ = original.__doc__
    # Every module that imported the function by name gets the wrapper too.
    _replace_everywhere(original, gateway_key_create)


# Seeing outputs ------------------------------------------------------------------------


class _LogScanner(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self._busy = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._busy, "on", False):
            return
        self._busy.on = True
        try:
            where = f"log {record.name}:{record.levelname}"
            try:
                COLLECTOR.scan(record.getMessage(), where)
            except Exception:
                COLLECTOR.scan(repr(record.msg) + repr(record.args), where)
            if record.exc_info:
                # What a handler writes: the record's exc_text once a filter set it, else the traceback.
                text = record.exc_text or logging.Formatter().formatException(record.exc_info)
                COLLECTOR.scan(text, where + " traceback")
                request = getattr(record, "request", None)
                if request is not None:
                    self._scan_error_report(request, record, where)
            if record.stack_info:
                COLLECTOR.scan(record.stack_info, where + " stack")
        finally:
            self._busy.on = False

    @staticmethod
    def _scan_error_report(request: Any, record: logging.LogRecord, where: str) -> None:
        # What AdminEmailHandler would send to the admins for this record.
        try:
            from django.views.debug import ExceptionReporter

            reporter = ExceptionReporter(request, *record.exc_info, is_email=True)  # type: ignore[misc]
            COLLECTOR.scan(reporter.get_traceback_text(), where + " error report")
        except Exception:
            pass


def _scan_response(response: Any, where: str, allowed: set[str]) -> Any:
    from django.http import FileResponse

    for name, value in response.items():
        COLLECTOR.scan(value, f"{where} header {name}", allowed)
    if isinstance(response, FileResponse):
        return response  # static files and downloads of files on disk
    if getattr(response, "streaming", False):
        if getattr(response, "is_async", False):
            inner = response.streaming_content

            async def scanned_async() -> Any:
                async for chunk in inner:
                    COLLECTOR.scan(chunk, where + " (stream)", allowed)
                    yield chunk

            response.streaming_content = scanned_async()
        else:
            inner_sync = response.streaming_content

            def scanned_sync() -> Any:
                for chunk in inner_sync:
                    COLLECTOR.scan(chunk, where + " (stream)", allowed)
                    yield chunk

            response.streaming_content = scanned_sync()
        return response
    COLLECTOR.scan(response.content, where, allowed)
    return response


def _enter_scope(query: str = "") -> tuple[set[str], contextvars.Token[set[str] | None] | None]:
    """The allowed set of the current request or command (a new one at the outermost level).

    A secret the client itself put in the URL (a search for a key, to show it finds
    nothing) may be echoed back in that response: it is the client's own input.
    """
    current = _scope.get()
    if current is not None:
        return current, None
    fresh: set[str] = set()
    if query:
        text = unquote_plus(query)
        fresh.update(s for s in list(COLLECTOR.secrets) if s in text)
    return fresh, _scope.set(fresh)


def _exit_scope(token: contextvars.Token[set[str] | None] | None) -> None:
    if token is not None:
        try:
            _scope.reset(token)
        except ValueError:  # reset from another context (a generator finished elsewhere)
            _scope.set(None)


def _patch_django_handler() -> None:
    from django.core.handlers.base import BaseHandler

    original = BaseHandler.get_response
    original_async = BaseHandler.get_response_async

    def get_response(self: Any, request: Any) -> Any:
        allowed, token = _enter_scope(request.META.get("QUERY_STRING", ""))
        try:
            response = original(self, request)
            return _scan_response(response, f"response {request.method} {request.path}", allowed)
        finally:
            _exit_scope(token)

    async def get_response_async(self: Any, request: Any) -> Any:
        allowed, token = _enter_scope(request.META.get("QUERY_STRING", ""))
        try:
            response = await original_async(self, request)
            return _scan_response(response, f"response {request.method} {request.path}", allowed)
        finally:
            _exit_scope(token)

    BaseHandler.get_response = get_response  # type: ignore[method-assign]
    BaseHandler.get_response_async = get_response_async  # type: ignore[method-assign]


def _patch_asgi_application() -> None:
    try:
        from gateway import asgi
    except Exception:
        return
    app_class = getattr(asgi, "Application", None)
    if app_class is None:
        return
    original = app_class.__call__

    async def __call__(self: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            return await original(self, scope, receive, send)
        allowed, token = _enter_scope(scope.get("query_string", b"").decode("latin-1"))
        where = f"ASGI {scope.get('method')} {scope.get('path')}"

        async def scanned_send(message: dict[str, Any]) -> None:
            if message.get("type") == "http.response.body":
                COLLECTOR.scan(message.get("body", b""), where, allowed)
            elif message.get("type") == "http.response.start":
                for _name, value in message.get("headers", []):
                    COLLECTOR.scan(value, where + " header", allowed)
            await send(message)

        try:
            await original(self, scope, receive, scanned_send)
        finally:
            _exit_scope(token)

    app_class.__call__ = __call__


def _patch_commands() -> None:
    from django.core.management.base import BaseCommand, OutputWrapper

    original_write = OutputWrapper.write
    original_execute = BaseCommand.execute

    def write(self: Any, msg: str = "", style_func: Any = None, ending: Any = None) -> None:
        COLLECTOR.scan(msg, "management command output", _scope.get() or frozenset())
        return original_write(self, msg, style_func, ending)

    def execute(self: Any, *args: Any, **options: Any) -> Any:
        _allowed, token = _enter_scope()
        try:
            result = original_execute(self, *args, **options)
            if isinstance(result, str):
                COLLECTOR.scan(result, f"command {type(self).__module__}", _allowed)
            return result
        finally:
            _exit_scope(token)

    OutputWrapper.write = write  # type: ignore[method-assign]
    BaseCommand.execute = execute  # type: ignore[method-assign]


def _scan_outbox() -> None:
    try:
        from django.core import mail
    except Exception:
        return
    for message in getattr(mail, "outbox", []) or []:
        parts = [message.subject, message.body]
        parts += [content for content, _mime in getattr(message, "alternatives", [])]
        parts += [a[1] if isinstance(a, tuple) else str(a) for a in getattr(message, "attachments", [])]
        for part in parts:
            COLLECTOR.scan(part, "mail")


# The plugin -----------------------------------------------------------------------------

_installed = False
_handler = _LogScanner()


def _install() -> None:
    global _installed
    if _installed:
        return
    from django.apps import apps

    if not apps.ready:
        return
    from django.db.models.signals import pre_save

    from providers.models import Provider

    pre_save.connect(_provider_pre_save, sender=Provider, dispatch_uid="secret_scan")
    _wrap_gateway_key_create()
    _wrap_export()
    _patch_django_handler()
    _patch_asgi_application()
    _patch_commands()
    _installed = True
    _log_everything()


def _log_everything() -> None:
    """Every logger at DEBUG, into the scanner. Re-applied before each test, because
    ``django.setup()`` (run again by ``get_wsgi_application()`` and friends)
    reconfigures logging from settings."""
    root = logging.getLogger()
    if _handler not in root.handlers:
        root.addHandler(_handler)
    root.setLevel(logging.DEBUG)
    for name in ("gateway", "django", "providers", "chat"):
        logging.getLogger(name).setLevel(logging.DEBUG)


def pytest_sessionstart(session: pytest.Session) -> None:
    try:
        _install()
    except Exception:  # Django not set up (yet): the first test installs it
        pass


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    try:
        _install()
    except Exception:
        return
    if _installed:
        _log_everything()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    _install()
    yield
    _scan_outbox()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if COLLECTOR.findings and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    c = COLLECTOR
    kinds: dict[str, int] = {}
    for kind in c.secrets.values():
        kinds[kind] = kinds.get(kind, 0) + 1
    summary = ", ".join(f"{n} {k}(s)" for k, n in sorted(kinds.items())) or "no secrets"
    terminalreporter.section("secret scan")
    terminalreporter.write_line(
        f"{summary} tracked; {c.scanned} outputs ({c.scanned_bytes / 1e6:.1f} MB) scanned; {len(c.findings)} leak(s)."
    )
    if c.findings:
        seen = set()
        for finding in c.findings:
            line = finding.describe()
            if line not in seen:
                seen.add(line)
                terminalreporter.write_line("LEAK " + line, red=True)
            if len(seen) >= 50:
                terminalreporter.write_line(f"... {len(c.findings) - 50} more", red=True)
                break
