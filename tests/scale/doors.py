"""The two doors the fast-path tests compare, called in process: the raw ASGI fast path
(chat/fastpath.py) and Django's own handler behind the full middleware stack. The
``apps`` fixture (conftest.py) is the fast path with a ``Recorder`` standing in for
Django behind it."""
from __future__ import annotations

import asyncio
import json
from typing import Any

from chat.fastpath import Application
from gateway.asgi import django_application
from tests.asgi_call import call


class Recorder:
    """Stands in for Django behind the fast path, to prove the fast path answered."""

    def __init__(self, django_app: Any = django_application) -> None:
        self.calls = 0
        self.django_app = django_app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        await self.django_app(scope, receive, send)


def chat_body(model: str, stream: bool = False) -> bytes:
    return json.dumps({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}).encode()


async def both(apps: tuple[Application, Recorder], *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """The same request to the fast path (which must answer it itself) and to Django: both answers."""
    fast, behind = apps
    before = behind.calls
    got = await call(fast, *args, **kwargs)
    assert behind.calls == before, "the fast path handed the request to Django"
    expected = await call(django_application, *args, **kwargs)
    return got, expected


def doors(apps: tuple[Application, Recorder]) -> tuple[Application, Application]:
    """The fast path, and the Django door as deployed (chat/fastpath.py in front of Django)."""
    return apps[0], Application(django_application, fast=False)


class EndlessBody:
    """A client sending a body that never ends: only a server that checks the key
    before reading the body can answer it."""

    def __init__(self) -> None:
        self.chunks = 0

    async def __call__(self) -> dict[str, Any]:
        self.chunks += 1
        await asyncio.sleep(0)
        return {"type": "http.request", "body": b" " * 65536, "more_body": True}
