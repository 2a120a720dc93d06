"""Tests that need a real outside part (Chromium, PostgreSQL, Redis, an npm
program) call these. On a bare machine they skip with a plain reason; under
GATEWAY_REQUIRE_ALL=1 (set by .ci/run, which installs and starts everything)
a missing part fails the test instead, so CI can never pass by skipping."""
from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
NPM_BIN = ROOT / "tests" / ".npm" / "node_modules" / ".bin"


def required() -> bool:
    return os.environ.get("GATEWAY_REQUIRE_ALL", "") in {"1", "true", "yes"}


def missing(reason: str) -> None:
    if required():
        pytest.fail(f"GATEWAY_REQUIRE_ALL is set but {reason}")
    pytest.skip(reason)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            break
    else:
        path = None
    if path is None:
        missing("Chromium is not installed (apt-get install chromium); browser tests skipped")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing("the playwright Python package is not installed; browser tests skipped")
    return path  # type: ignore[return-value]


def postgres_url() -> str:
    url = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
    if not _port_open(5432):
        missing("no PostgreSQL server on 127.0.0.1:5432; PostgreSQL tests skipped")
    return url


def redis_url() -> str:
    if not _port_open(6379):
        missing("no Redis server on 127.0.0.1:6379; Redis tests skipped")
    return os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def npm_program(name: str) -> str:
    """Path of an npm program installed by scripts/install_npm_tools.sh."""
    path = NPM_BIN / name
    if not path.exists():
        missing(f"{name} is not installed (run scripts/install_npm_tools.sh); its tests skipped")
    if shutil.which("node") is None:
        missing("Node.js is not installed; npm program tests skipped")
    return str(path)


def pg_url_for(url: str, name: str) -> str:
    """``url`` (a PostgreSQL DATABASE_URL) naming the database ``name`` instead."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def pg_admin(url: str, sql: str) -> None:
    """Run ``sql`` (CREATE/DROP DATABASE) on the server of ``url``, outside a transaction."""
    import psycopg

    with psycopg.connect(pg_url_for(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql)
