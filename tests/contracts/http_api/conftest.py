"""Fixtures of the HTTP contract tests."""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.contracts.http_api.helpers import Server


@pytest.fixture
def local(make_provider, upstream):
    """A ``custom`` provider named ``local`` on the fake OpenAI-compatible upstream."""
    return make_provider(name="local", base_url=upstream.base_url)


@pytest.fixture
def agent_log(tmp_path):
    """What the scripted ACP agent logged (``SCRIPTED_ACP_LOG=agent_log.path``):
    call it for the entries so far."""
    path = tmp_path / "agent.jsonl"
    path.touch()

    def entries():
        return [json.loads(line) for line in path.read_text().splitlines()]

    entries.path = str(path)
    return entries


@pytest.fixture(scope="module")
def django_handler_ports() -> Iterator[dict[str, int]]:
    """Django's own ASGI handler under uvicorn with each of its HTTP parsers (h11, httptools), for one module."""
    with Server("h11") as h11, Server("httptools") as httptools:
        yield {"django-h11": h11.port, "django-httptools": httptools.port}
