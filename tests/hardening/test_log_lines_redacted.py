"""Every line the gateway's log handlers write has provider secrets masked (API key,
header, query and env values), tracebacks included: a safety net for text quoted
from upstreams or libraries, wired in through settings.LOGGING."""
from __future__ import annotations

import io
import logging

from providers import routing

QUERY_SECRET = "qry-logged-secret-L1o2"
ENV_SECRET = "env-logged-secret-L3o4"


def test_the_log_handlers_mask_provider_secrets(make_provider):
    make_provider(name="cloud", base_url="http://127.0.0.1:9/v1", settings={"extra_query": {"key": QUERY_SECRET}})
    make_provider(name="cli", provider_type="claude_cli", settings={"command": "claude", "env": {"T": ENV_SECRET}})
    routing._state.snapshot = routing.load_snapshot()  # the table in use, as in a serving process
    logger = logging.getLogger("gateway.redaction-check")
    handler = next(h for h in logging.getLogger("gateway").handlers
                   if any(type(f).__name__ == "RedactingFilter" for f in h.filters))
    stream = io.StringIO()
    old = handler.setStream(stream)
    try:
        logger.warning("upstream said: GET /v1/models?key=%s failed", QUERY_SECRET)
        try:
            raise RuntimeError(f"child printed T={ENV_SECRET}")
        except RuntimeError:
            logger.exception("program failed")
    finally:
        handler.setStream(old)
    written = stream.getvalue()
    assert QUERY_SECRET not in written and ENV_SECRET not in written
    assert "GET /v1/models?key=*** failed" in written
    assert "RuntimeError: child printed T=***" in written
