"""Shared fixtures: real loopback servers for upstreams and for the gateway itself."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fakes.openai_upstream import FakeUpstream
from tests.fakes.responses_upstream import FakeResponsesUpstream

# Scans every response, log line and command output of the whole session for the
# provider and gateway keys the tests used; the session fails on any leak.
pytest_plugins = ["tests.secret_scan"]


def wait_until(predicate: Callable[[], object], seconds: float = 15.0) -> bool:
    """Poll ``predicate`` until it holds or ``seconds`` run out; whether it held.
    A generous bound on a wait, not a timing test."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the default language: a test client request with
    Accept-Language activates a language in this thread and leaves it active."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_routing_table() -> Iterator[None]:
    from providers import routing

    routing.reset_for_tests()
    yield
    routing.reset_for_tests()


@pytest.fixture(scope="session")
def upstream_server() -> Iterator[FakeUpstream]:
    server = FakeUpstream().start()
    yield server
    server.stop()


@pytest.fixture
def upstream(upstream_server: FakeUpstream) -> FakeUpstream:
    """The fake OpenAI-compatible upstream, with a clean request log."""
    upstream_server.requests.clear()
    upstream_server.disconnects.clear()
    upstream_server.models_shape = "list"
    upstream_server.slow_seconds = 2.0
    return upstream_server


@pytest.fixture(scope="session")
def anthropic_server() -> Iterator[Any]:
    from tests.fakes.anthropic_upstream import FakeAnthropic

    server = FakeAnthropic().start()
    yield server
    server.stop()


@pytest.fixture
def anthropic_upstream(anthropic_server: Any) -> Any:
    """The fake Anthropic Messages API (tests/fakes/anthropic_upstream.py), with a clean request log.
    ``anthropic_upstream.client_env(home)`` is the env for the real Claude CLI / ACP agent."""
    anthropic_server.reset()
    return anthropic_server


class LiveGateway:
    """The gateway's ASGI app under uvicorn on 127.0.0.1, in a thread of the test process."""

    def __init__(self) -> None:
        import uvicorn

        from gateway.asgi import application

        self.port = free_port()
        config = uvicorn.Config(
            application, host="127.0.0.1", port=self.port, loop="asyncio", http="h11",
            lifespan="off", log_level="warning", timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="live-gateway", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveGateway:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def live_gateway_server() -> Iterator[LiveGateway]:
    gw = LiveGateway().start()
    yield gw
    gw.stop()


@pytest.fixture
def live_gateway(live_gateway_server: LiveGateway, transactional_db: Any) -> LiveGateway:
    """A running gateway; tests using it see their database writes (transactional_db)."""
    return live_gateway_server


@pytest.fixture(scope="module")
def django_url() -> Iterator[str]:
    """Django's own ASGI handler (no fast path) under uvicorn, for one test module: the
    other door to the live gateway's."""
    from tests.contracts.http_api.helpers import Server

    with Server("h11") as server:
        yield f"http://127.0.0.1:{server.port}"


@pytest.fixture
def make_provider(transactional_db: Any) -> Callable[..., Any]:
    from providers import services

    def make(**kwargs: Any) -> Any:
        kwargs.setdefault("provider_type", "custom")
        return services.provider_create(**kwargs)

    return make


@pytest.fixture
def allow_programs(settings: Any) -> Callable[..., None]:
    """As an operator would: list programs in GATEWAY_ALLOWED_COMMANDS and, with
    ``tools=True``, set GATEWAY_ALLOW_AGENT_TOOLS (needed for a ``cwd`` setting)."""

    def allow(*commands: str, tools: bool = False) -> None:
        settings.GATEWAY_ALLOWED_COMMANDS = [*settings.GATEWAY_ALLOWED_COMMANDS, *commands]
        if tools:
            settings.GATEWAY_ALLOW_AGENT_TOOLS = True

    return allow


@pytest.fixture
def gateway_key(transactional_db: Any) -> str:
    from providers import services

    _key, raw = services.gateway_key_create(name="test-client")
    return raw


@pytest.fixture
def limits_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[float], None]]:
    """``limits_clock(now)`` freezes the clock the rate limits and budgets read
    (chat/limits.py); the counters start and end empty."""
    import types

    from django.core.cache import cache

    from chat import limits

    def freeze(now: float) -> None:
        monkeypatch.setattr(limits, "time", types.SimpleNamespace(time=lambda: now))

    cache.clear()
    yield freeze
    cache.clear()


@pytest.fixture(scope="session")
def responses_upstream_server() -> Iterator[FakeResponsesUpstream]:
    server = FakeResponsesUpstream().start()
    yield server
    server.stop()


@pytest.fixture
def responses_upstream(responses_upstream_server: FakeResponsesUpstream) -> FakeResponsesUpstream:
    """The fake Responses API upstream, with a clean request log."""
    responses_upstream_server.requests.clear()
    responses_upstream_server.disconnects.clear()
    return responses_upstream_server
